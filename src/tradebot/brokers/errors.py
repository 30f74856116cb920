"""The standard error classes a broker plugin raises, so every adapter classifies the same failure alike.

A plugin catches its client library's exception, builds one of these and raises
``BrokerError(message, error_class)``; ``Broker.classify_error`` returns the same classes. The codes are:
auth → AUTH / HALT_TRADING / AUTH_HALT, rate limit → RATE_LIMIT / RETRY / RATE_LIMIT_RETRY (with the
venue's retry-after when it sends one), network → TRANSIENT_NETWORK / RETRY / NET_RETRY.
"""

from __future__ import annotations

from typing import Any

from tradebot.domain import reasons
from tradebot.domain.errors import ErrorAction, ErrorCategory, ErrorClass, ErrorScope


def auth_error(**details: Any) -> ErrorClass:
    return ErrorClass(
        ErrorCategory.AUTH, ErrorScope.GLOBAL, ErrorAction.HALT_TRADING, reasons.AUTH_HALT, details=details
    )


def rate_limit_error(retry_after_s: float | None = None, **details: Any) -> ErrorClass:
    return ErrorClass(
        ErrorCategory.RATE_LIMIT, ErrorScope.PROVIDER, ErrorAction.RETRY, reasons.RATE_LIMIT_RETRY,
        retry_after_s=retry_after_s, details=details,
    )


def network_error(**details: Any) -> ErrorClass:
    return ErrorClass(
        ErrorCategory.TRANSIENT_NETWORK, ErrorScope.PROVIDER, ErrorAction.RETRY, reasons.NET_RETRY,
        details=details,
    )


def not_connected_error(**details: Any) -> ErrorClass:
    return ErrorClass(
        ErrorCategory.BROKER_STATE, ErrorScope.PROVIDER, ErrorAction.RETRY, reasons.BROKER_NOT_CONNECTED,
        details=details,
    )


def unknown_instrument_error(symbol: str, **details: Any) -> ErrorClass:
    return ErrorClass(
        ErrorCategory.BAD_DATA, ErrorScope.SYMBOL, ErrorAction.SKIP_SYMBOL, reasons.UNKNOWN_INSTRUMENT,
        details={"symbol": symbol, **details},
    )
