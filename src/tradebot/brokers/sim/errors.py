"""The simulated venue's own exceptions (its "client library" errors) and their classification.

Every plugin has this module: it maps the library's exceptions onto the error taxonomy. The sim venue raises
``SimVenueError`` subclasses; ``classify`` turns them into the standard classes and ``as_broker_error``
into the ``BrokerError`` the adapter raises.
"""

from __future__ import annotations

from tradebot.brokers.errors import (
    auth_error,
    network_error,
    rate_limit_error,
    unknown_instrument_error,
)
from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory, ErrorClass, ErrorScope


class SimVenueError(Exception):
    """Base of the venue's failures."""


class SimAuthError(SimVenueError):
    """HTTP 401/403 equivalent."""


class SimRateLimitError(SimVenueError):
    """HTTP 429 equivalent, with the venue's retry-after."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SimNetworkError(SimVenueError):
    """Connection reset or timeout: the request did not reach the venue."""


class SimUnknownInstrumentError(SimVenueError):
    def __init__(self, symbol: str) -> None:
        super().__init__(f"unknown instrument {symbol!r}")
        self.symbol = symbol


def classify(exc: BaseException) -> ErrorClass | None:
    """The taxonomy class of a venue exception; None when it is not one of the venue's."""
    if isinstance(exc, BrokerError):
        return exc.error_class
    if isinstance(exc, SimAuthError):
        return auth_error(venue="sim")
    if isinstance(exc, SimRateLimitError):
        return rate_limit_error(exc.retry_after_s, venue="sim")
    if isinstance(exc, SimNetworkError):
        return network_error(venue="sim")
    if isinstance(exc, SimUnknownInstrumentError):
        return unknown_instrument_error(exc.symbol, venue="sim")
    return None


def as_broker_error(exc: SimVenueError) -> BrokerError:
    error_class = classify(exc) or ErrorClass(
        ErrorCategory.UNKNOWN, ErrorScope.PROVIDER, ErrorAction.HALT_TRADING, "SIM_VENUE_ERROR"
    )
    return BrokerError(str(exc), error_class)
