"""The error taxonomy's vocabulary: what kind of failure, how far it reaches, what to do about it.

``tradebot.ops.errors.classify_exception`` maps exceptions onto these; broker plugins map their client
library's exceptions through ``Broker.classify_error`` and raise ``BrokerError`` carrying the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ErrorCategory(StrEnum):
    TRANSIENT_NETWORK = "TRANSIENT_NETWORK"
    RATE_LIMIT = "RATE_LIMIT"
    AUTH = "AUTH"
    BAD_DATA = "BAD_DATA"
    PROVIDER_SCHEMA = "PROVIDER_SCHEMA"
    ORDER_REJECTED = "ORDER_REJECTED"
    BROKER_STATE = "BROKER_STATE"
    INVARIANT_VIOLATION = "INVARIANT_VIOLATION"
    PROGRAMMING_ERROR = "PROGRAMMING_ERROR"
    UNKNOWN = "UNKNOWN"


class ErrorScope(StrEnum):
    SYMBOL = "SYMBOL"
    PROVIDER = "PROVIDER"
    GLOBAL = "GLOBAL"


class ErrorAction(StrEnum):
    RETRY = "RETRY"
    SKIP_SYMBOL = "SKIP_SYMBOL"
    DISABLE_PROVIDER = "DISABLE_PROVIDER"
    HALT_TRADING = "HALT_TRADING"


@dataclass(frozen=True, slots=True)
class ErrorClass:
    """A classified failure. ``code`` is a reason code such as AUTH_HALT or RATE_LIMIT_RETRY."""

    category: ErrorCategory
    scope: ErrorScope
    action: ErrorAction
    code: str
    retry_after_s: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


class BrokerError(Exception):
    """Raised by a broker plugin for a failure it has classified (network, auth, rate limit, state)."""

    def __init__(self, message: str, error_class: ErrorClass) -> None:
        super().__init__(message)
        self.error_class = error_class
