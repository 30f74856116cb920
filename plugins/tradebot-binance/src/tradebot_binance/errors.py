"""Binance failures onto the error taxonomy: python-binance's exceptions, aiohttp's, and timeouts.

Codes (Binance USD-M): -1021 timestamp outside recvWindow, -1022 bad signature, -1003 / HTTP 429 too
many requests, HTTP 418 IP banned, -2019 margin insufficient, -4120 order type needs the Algo API,
-2011 unknown order (cancel), -2013 order does not exist (query), 5xx venue trouble.
"""

from __future__ import annotations

import asyncio
from typing import Final

import aiohttp
from binance.exceptions import BinanceAPIException, BinanceRequestException, BinanceWebsocketUnableToConnect

from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory, ErrorClass, ErrorScope
from tradebot.domain.reasons import AUTH_HALT, NET_RETRY, RATE_LIMIT_RETRY

# reason codes this plugin emits (plain strings, see tradebot.domain.reasons)
IP_BANNED: Final = "BINANCE_IP_BANNED"
TIMESTAMP_RESYNC: Final = "BINANCE_TIMESTAMP_RESYNC"
MARGIN_INSUFFICIENT: Final = "BINANCE_MARGIN_INSUFFICIENT"
WRONG_ENDPOINT: Final = "BINANCE_WRONG_ENDPOINT"
UNKNOWN_ORDER: Final = "BINANCE_UNKNOWN_ORDER"
ORDER_REJECTED: Final = "ORDER_REJECTED"
BAD_RESPONSE: Final = "BINANCE_BAD_RESPONSE"
SYMBOL_NOT_TRADING: Final = "BINANCE_SYMBOL_NOT_TRADING"
ACCOUNT_SETUP_FAILED: Final = "BINANCE_ACCOUNT_SETUP_FAILED"
BINANCE_ERROR: Final = "BINANCE_ERROR"
DUPLICATE_CLIENT_ORDER_ID: Final = "DUPLICATE_CLIENT_ORDER_ID"

TIMESTAMP_CODE: Final = -1021
SIGNATURE_CODE: Final = -1022
TOO_MANY_REQUESTS_CODE: Final = -1003
MARGIN_INSUFFICIENT_CODE: Final = -2019
WRONG_ENDPOINT_CODE: Final = -4120
UNKNOWN_ORDER_CODE: Final = -2011
NO_SUCH_ORDER_CODE: Final = -2013

_AUTH_CODES = frozenset({SIGNATURE_CODE, -2014, -2015, -1002})
_TRANSIENT_CODES = frozenset({-1000, -1001, -1006, -1007, -1008})
# order-level refusals: the order was looked at and refused, nothing else is wrong
_ORDER_REJECT_CODES = frozenset(
    {
        -1013,
        -1111,
        -1116,
        -1117,
        -2010,
        -4116,
        -2019,
        -2020,
        -2021,
        -2022,
        -2027,
        -2028,
        -4003,
        -4004,
        -4005,
        -4014,
        -4015,
        -4016,
        -4023,
        -4024,
        -4131,
        -4164,
        -5021,
        -5022,
    }
)


def _cls(
    category: ErrorCategory,
    scope: ErrorScope,
    action: ErrorAction,
    code: str,
    retry_after_s: float | None = None,
    details: dict[str, object] | None = None,
    **extra: object,
) -> ErrorClass:
    merged = {**(details or {}), **extra}
    return ErrorClass(category, scope, action, code, retry_after_s=retry_after_s, details=merged)


def retry_after_seconds(exc: BinanceAPIException) -> float | None:
    """The ``Retry-After`` header of the failed response (seconds), when the venue sent one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _classify_api(exc: BinanceAPIException) -> ErrorClass:
    code = int(exc.code or 0)
    status = int(exc.status_code or 0)
    details: dict[str, object] = {
        "venue_code": code,
        "http_status": status,
        "message": str(exc.message or ""),
    }
    if status == 418:
        return _cls(
            ErrorCategory.RATE_LIMIT,
            ErrorScope.PROVIDER,
            ErrorAction.DISABLE_PROVIDER,
            IP_BANNED,
            retry_after_seconds(exc),
            details=details,
        )
    if status == 429 or code == TOO_MANY_REQUESTS_CODE:
        return _cls(
            ErrorCategory.RATE_LIMIT,
            ErrorScope.PROVIDER,
            ErrorAction.RETRY,
            RATE_LIMIT_RETRY,
            retry_after_seconds(exc),
            details=details,
        )
    if code == TIMESTAMP_CODE:
        return _cls(
            ErrorCategory.TRANSIENT_NETWORK,
            ErrorScope.PROVIDER,
            ErrorAction.RETRY,
            TIMESTAMP_RESYNC,
            details=details,
        )
    if code in _AUTH_CODES or status in (401, 403):
        return _cls(
            ErrorCategory.AUTH, ErrorScope.GLOBAL, ErrorAction.HALT_TRADING, AUTH_HALT, details=details
        )
    if code == WRONG_ENDPOINT_CODE:
        return _cls(
            ErrorCategory.PROGRAMMING_ERROR,
            ErrorScope.GLOBAL,
            ErrorAction.HALT_TRADING,
            WRONG_ENDPOINT,
            details=details,
        )
    if code == MARGIN_INSUFFICIENT_CODE:
        return _cls(
            ErrorCategory.ORDER_REJECTED,
            ErrorScope.SYMBOL,
            ErrorAction.SKIP_SYMBOL,
            MARGIN_INSUFFICIENT,
            details=details,
        )
    if code in (UNKNOWN_ORDER_CODE, NO_SUCH_ORDER_CODE):
        return _cls(
            ErrorCategory.BROKER_STATE,
            ErrorScope.SYMBOL,
            ErrorAction.SKIP_SYMBOL,
            UNKNOWN_ORDER,
            details=details,
        )
    if code in _ORDER_REJECT_CODES:
        return _cls(
            ErrorCategory.ORDER_REJECTED,
            ErrorScope.SYMBOL,
            ErrorAction.SKIP_SYMBOL,
            ORDER_REJECTED,
            details=details,
        )
    if status >= 500 or code in _TRANSIENT_CODES:
        return _cls(
            ErrorCategory.TRANSIENT_NETWORK,
            ErrorScope.PROVIDER,
            ErrorAction.RETRY,
            NET_RETRY,
            details=details,
        )
    return _cls(
        ErrorCategory.UNKNOWN, ErrorScope.PROVIDER, ErrorAction.HALT_TRADING, BINANCE_ERROR, details=details
    )


def classify_error(exc: BaseException) -> ErrorClass | None:
    """Map a python-binance / aiohttp / timeout exception onto the taxonomy; None if it is not ours."""
    if isinstance(exc, BrokerError):
        return exc.error_class
    if isinstance(exc, BinanceAPIException):
        return _classify_api(exc)
    if isinstance(exc, BinanceRequestException):
        return _cls(
            ErrorCategory.PROVIDER_SCHEMA,
            ErrorScope.PROVIDER,
            ErrorAction.DISABLE_PROVIDER,
            BAD_RESPONSE,
            message=str(exc.message),
        )
    if isinstance(exc, aiohttp.ClientResponseError) and exc.status >= 500:
        return _cls(
            ErrorCategory.TRANSIENT_NETWORK,
            ErrorScope.PROVIDER,
            ErrorAction.RETRY,
            NET_RETRY,
            http_status=exc.status,
        )
    if isinstance(exc, aiohttp.ClientError | ConnectionError | BinanceWebsocketUnableToConnect):
        return _cls(
            ErrorCategory.TRANSIENT_NETWORK,
            ErrorScope.PROVIDER,
            ErrorAction.RETRY,
            NET_RETRY,
            error=type(exc).__name__,
        )
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return _cls(
            ErrorCategory.TRANSIENT_NETWORK,
            ErrorScope.PROVIDER,
            ErrorAction.RETRY,
            NET_RETRY,
            error="timeout",
        )
    return None


def venue_code(exc: BaseException) -> int | None:
    if isinstance(exc, BinanceAPIException):
        return int(exc.code or 0)
    return None


def as_broker_error(exc: BaseException, context: str) -> BrokerError:
    """Wrap a classified exception; an unclassifiable one becomes a PROGRAMMING_ERROR halt."""
    error_class = classify_error(exc) or _cls(
        ErrorCategory.PROGRAMMING_ERROR,
        ErrorScope.GLOBAL,
        ErrorAction.HALT_TRADING,
        BINANCE_ERROR,
        error=type(exc).__name__,
    )
    return BrokerError(f"binance {context}: {exc}", error_class)


def state_error(code: str, message: str, scope: ErrorScope = ErrorScope.SYMBOL) -> BrokerError:
    action = ErrorAction.SKIP_SYMBOL if scope is ErrorScope.SYMBOL else ErrorAction.HALT_TRADING
    return BrokerError(message, _cls(ErrorCategory.BROKER_STATE, scope, action, code))
