"""``classify_exception``: every exception the pipeline catches becomes an ``ErrorClass``.

Order of consultation:

1. the broker's own ``classify_error(exc)`` when a broker is given (plugins map their client library);
2. ``BrokerError``: the ``ErrorClass`` the plugin attached;
3. the table below, on the exception and then on its ``__cause__``/``__context__`` chain.

Exception                                   -> Category / Scope / Action / Code
HTTP 401, 403                               -> AUTH / GLOBAL / HALT_TRADING / AUTH_HALT
HTTP 429, 418 (retry-after honoured)        -> RATE_LIMIT / PROVIDER / RETRY / RATE_LIMIT_RETRY
HTTP 408, 5xx                               -> TRANSIENT_NETWORK / PROVIDER / RETRY / NET_RETRY
other HTTP 4xx                              -> ORDER_REJECTED / SYMBOL / SKIP_SYMBOL / REQUEST_REFUSED
TimeoutError, ConnectionError, socket       -> TRANSIENT_NETWORK / PROVIDER / RETRY / NET_RETRY
  errors, client-library timeout and
  connection classes (aiohttp, httpx,
  requests, websockets; matched by name)
InvariantViolation, decimal                 -> INVARIANT_VIOLATION / GLOBAL / HALT_TRADING / INVARIANT_HALT
  InvalidOperation, ZeroDivisionError,
  OverflowError
DataValidationError                         -> BAD_DATA / SYMBOL / SKIP_SYMBOL / BAD_DATA_SKIP
SchemaMismatch, JSON decode errors,         -> PROVIDER_SCHEMA / PROVIDER / DISABLE_PROVIDER /
  pydantic ValidationError                     PROVIDER_SCHEMA_DISABLE
TypeError, KeyError, AttributeError,        -> PROGRAMMING_ERROR / GLOBAL / HALT_TRADING /
  IndexError, NameError, AssertionError,       PROGRAMMING_ERROR_HALT
  NotImplementedError
anything else (BaseExceptions included)     -> UNKNOWN / GLOBAL / HALT_TRADING / UNKNOWN_ERROR_HALT

An exception that escaped every handler of a pipeline stage goes through ``classify_unhandled``: the same
table, but nothing is left to retry, skip or disable, so its action is always HALT_TRADING (a class that
would not halt by itself keeps its own code in the details and halts with INTERNAL_ERROR).

``scope_hint`` replaces the scope of the categories whose reach depends on the call site (network, rate
limit, bad data, refused request); AUTH, invariant, programming and unknown errors are always GLOBAL.
Details carry the exception type and its message with registered secrets scrubbed.
A submit classified RETRY is never resent blindly: the order manager looks it up by client order id first.
"""

from __future__ import annotations

import json
import math
import socket
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from pydantic import ValidationError

from tradebot.domain import reasons
from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory, ErrorClass, ErrorScope
from tradebot.ops.secrets import scrub_text

MAX_MESSAGE_CHARS = 300


class InvariantViolation(Exception):
    """A value our own math produced or consumed is impossible (NaN, infinite, negative price...)."""

    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class DataValidationError(ValueError):
    """A provider's data failed validation (for one symbol): skip it, keep the provider."""


class SchemaMismatch(ValueError):
    """A provider's payload does not have the shape we parse: the provider is unusable until fixed."""


class ErrorClassifier(Protocol):
    def classify_error(self, exc: BaseException) -> ErrorClass | None: ...


def require_valid_price(value: Decimal | float, field: str, *, allow_zero: bool = False) -> None:
    """Raise ``InvariantViolation`` naming ``field`` if ``value`` is NaN, infinite or negative (or zero)."""
    if isinstance(value, Decimal):
        bad = value.is_nan() or value.is_infinite()
    else:
        bad = math.isnan(value) or math.isinf(value)
    if bad:
        raise InvariantViolation(f"{field} is {value}", field=field, value=str(value))
    if value < 0 or (value == 0 and not allow_zero):
        raise InvariantViolation(f"{field} must be positive, got {value}", field=field, value=str(value))


_NETWORK_CLASS_NAMES = frozenset(
    {
        "ClientConnectionError",
        "ClientConnectorError",
        "ClientOSError",
        "ServerDisconnectedError",
        "ServerTimeoutError",
        "ConnectionTimeoutError",
        "SocketTimeoutError",
        "ClientPayloadError",
        "ConnectError",
        "ConnectTimeout",
        "ReadTimeout",
        "WriteTimeout",
        "PoolTimeout",
        "ReadError",
        "WriteError",
        "RemoteProtocolError",
        "NetworkError",
        "TimeoutException",
        "Timeout",
        "ConnectionClosed",
        "ConnectionClosedError",
        "InvalidHandshake",
        "IncompleteRead",
        "ChunkedEncodingError",
        "ProtocolError",
        "NewConnectionError",
        "MaxRetryError",
        "SSLEOFError",
        "SSLZeroReturnError",
    }
)
_PROGRAMMING_ERRORS = (
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    NameError,
    AssertionError,
    NotImplementedError,
)
_INVARIANT_ERRORS = (InvariantViolation, InvalidOperation, ZeroDivisionError, OverflowError)
_SCHEMA_ERRORS = (SchemaMismatch, json.JSONDecodeError, ValidationError)


def classify_exception(
    exc: BaseException,
    *,
    scope_hint: ErrorScope | None = None,
    broker: ErrorClassifier | None = None,
) -> ErrorClass:
    """Classify ``exc`` (see the module table). Never raises."""
    if broker is not None:
        try:
            from_broker = broker.classify_error(exc)
        except Exception as classifier_exc:  # noqa: BLE001 - a broken plugin classifier must not hide exc
            from_broker = None
            broker_note: str | None = f"{type(classifier_exc).__name__}: {classifier_exc}"
        else:
            broker_note = None
        if from_broker is not None:
            return from_broker
    else:
        broker_note = None
    if isinstance(exc, BrokerError):
        return exc.error_class
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _classify_one(current, scope_hint)
        if found is not None:
            if current is not exc:
                found = _with_details(found, wrapped_in=type(exc).__name__)
            return _with_details(found, classifier_error=broker_note) if broker_note else found
        current = current.__cause__ or current.__context__
    unknown = ErrorClass(
        ErrorCategory.UNKNOWN,
        ErrorScope.GLOBAL,
        ErrorAction.HALT_TRADING,
        reasons.UNKNOWN_ERROR_HALT,
        details=_describe(exc),
    )
    return _with_details(unknown, classifier_error=broker_note) if broker_note else unknown


def classify_unhandled(exc: BaseException, *, broker: ErrorClassifier | None = None) -> ErrorClass:
    """Classify an exception no stage handled: fail closed (HALT_TRADING, GLOBAL) whatever its class."""
    found = classify_exception(exc, broker=broker)
    if found.action is ErrorAction.HALT_TRADING and found.scope is ErrorScope.GLOBAL:
        return found
    return ErrorClass(
        found.category,
        ErrorScope.GLOBAL,
        ErrorAction.HALT_TRADING,
        reasons.INTERNAL_ERROR,
        details={**_describe(exc), **found.details, "classified_as": found.code},
    )


def _classify_one(exc: BaseException, scope_hint: ErrorScope | None) -> ErrorClass | None:
    details = _describe(exc)
    status = http_status(exc)
    if status is not None:
        details["http_status"] = status
        by_status = _classify_status(status, exc, details, scope_hint)
        if by_status is not None:
            return by_status
    if isinstance(exc, _INVARIANT_ERRORS):
        field = getattr(exc, "field", None)
        if field is not None:
            details["field"] = field
        return ErrorClass(
            ErrorCategory.INVARIANT_VIOLATION,
            ErrorScope.GLOBAL,
            ErrorAction.HALT_TRADING,
            reasons.INVARIANT_HALT,
            details=details,
        )
    if isinstance(exc, DataValidationError):
        return ErrorClass(
            ErrorCategory.BAD_DATA,
            scope_hint or ErrorScope.SYMBOL,
            ErrorAction.SKIP_SYMBOL,
            reasons.BAD_DATA_SKIP,
            details=details,
        )
    if isinstance(exc, _SCHEMA_ERRORS):
        return ErrorClass(
            ErrorCategory.PROVIDER_SCHEMA,
            ErrorScope.PROVIDER,
            ErrorAction.DISABLE_PROVIDER,
            reasons.PROVIDER_SCHEMA_DISABLE,
            details=details,
        )
    if is_network_error(exc):
        return ErrorClass(
            ErrorCategory.TRANSIENT_NETWORK,
            scope_hint or ErrorScope.PROVIDER,
            ErrorAction.RETRY,
            reasons.NET_RETRY,
            retry_after_s=retry_after_seconds(exc),
            details=details,
        )
    if isinstance(exc, _PROGRAMMING_ERRORS):
        return ErrorClass(
            ErrorCategory.PROGRAMMING_ERROR,
            ErrorScope.GLOBAL,
            ErrorAction.HALT_TRADING,
            reasons.PROGRAMMING_ERROR_HALT,
            details=details,
        )
    return None


def _classify_status(
    status: int, exc: BaseException, details: dict[str, Any], scope_hint: ErrorScope | None
) -> ErrorClass | None:
    if status in (401, 403):
        return ErrorClass(
            ErrorCategory.AUTH,
            ErrorScope.GLOBAL,
            ErrorAction.HALT_TRADING,
            reasons.AUTH_HALT,
            details=details,
        )
    if status in (429, 418):  # 418: Binance's "IP banned for ignoring 429s", with a retry-after
        return ErrorClass(
            ErrorCategory.RATE_LIMIT,
            scope_hint or ErrorScope.PROVIDER,
            ErrorAction.RETRY,
            reasons.RATE_LIMIT_RETRY,
            retry_after_s=retry_after_seconds(exc),
            details=details,
        )
    if status == 408 or 500 <= status <= 599:
        return ErrorClass(
            ErrorCategory.TRANSIENT_NETWORK,
            scope_hint or ErrorScope.PROVIDER,
            ErrorAction.RETRY,
            reasons.NET_RETRY,
            retry_after_s=retry_after_seconds(exc),
            details=details,
        )
    if 400 <= status <= 499:
        return ErrorClass(
            ErrorCategory.ORDER_REJECTED,
            scope_hint or ErrorScope.SYMBOL,
            ErrorAction.SKIP_SYMBOL,
            reasons.REQUEST_REFUSED,
            details=details,
        )
    return None


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an exception carries (``status``, ``status_code``, ``http_status`` or its
    ``response``'s), if it looks like one (100-599). Venue error codes (e.g. Binance's -1003) are ignored."""
    candidates: list[Any] = [getattr(exc, name, None) for name in ("status", "status_code", "http_status")]
    response = getattr(exc, "response", None)
    if response is not None:
        candidates += [getattr(response, "status_code", None), getattr(response, "status", None)]
    candidates.append(getattr(exc, "code", None))
    for value in candidates:
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
            return value
    return None


def retry_after_seconds(exc: BaseException) -> float | None:
    """Seconds to wait before retrying, from a ``retry_after``/``retry_after_s`` attribute or a numeric
    ``Retry-After`` header on the exception or its response. None when absent or not a number."""
    for name in ("retry_after_s", "retry_after"):
        value = _as_seconds(getattr(exc, name, None))
        if value is not None:
            return value
    for holder in (exc, getattr(exc, "response", None)):
        headers = getattr(holder, "headers", None)
        if isinstance(headers, Mapping) or hasattr(headers, "get"):
            try:
                raw = headers.get("Retry-After") or headers.get("retry-after")  # type: ignore[union-attr]
            except (TypeError, AttributeError):
                raw = None
            value = _as_seconds(raw)
            if value is not None:
                return value
    return None


def _as_seconds(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        return None
    return seconds


def is_network_error(exc: BaseException) -> bool:
    if isinstance(exc, TimeoutError | ConnectionError | socket.gaierror | socket.herror):
        return True
    return any(cls.__name__ in _NETWORK_CLASS_NAMES for cls in type(exc).__mro__)


def _describe(exc: BaseException) -> dict[str, Any]:
    message = scrub_text(str(exc))
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + "..."
    return {"exception": type(exc).__name__, "message": message}


def _with_details(error: ErrorClass, **extra: Any) -> ErrorClass:
    return ErrorClass(
        error.category,
        error.scope,
        error.action,
        error.code,
        error.retry_after_s,
        {**error.details, **extra},
    )
