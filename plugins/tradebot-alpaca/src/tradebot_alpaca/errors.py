"""alpaca-py's exceptions mapped onto tradebot's error taxonomy."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import requests
from alpaca.common.exceptions import APIError
from websockets.exceptions import WebSocketException

from tradebot.domain import reasons
from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory, ErrorClass, ErrorScope

AUTH_HALT = reasons.AUTH_HALT
RATE_LIMIT_RETRY = reasons.RATE_LIMIT_RETRY
NET_RETRY = reasons.NET_RETRY
ORDER_REJECTED = reasons.ORDER_REJECTED
BROKER_STATE = reasons.BROKER_STATE_ERROR
PROVIDER_SCHEMA = reasons.PROVIDER_SCHEMA_DISABLE

# Alpaca's own codes worth recognising (body {"code": int, "message": str}).
CODE_DUPLICATE_CLIENT_ID = 40010001  # "client_order_id must be unique" (HTTP 422)
CODE_INSUFFICIENT = 40310000  # "insufficient buying power" / "insufficient qty" (HTTP 403)


def api_error_body(exc: APIError) -> dict[str, Any]:
    """The parsed JSON body of an APIError, or {} when the venue sent something else."""
    try:
        body = json.loads(str(exc))
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def api_status(exc: APIError) -> int | None:
    status = exc.status_code
    return int(status) if status is not None else None


def is_duplicate_client_order_id(exc: BaseException) -> bool:
    if not isinstance(exc, APIError) or api_status(exc) != 422:
        return False
    body = api_error_body(exc)
    message = str(body.get("message", "")).lower()
    if body.get("code") == CODE_DUPLICATE_CLIENT_ID:
        return True
    return "client_order_id" in message and "unique" in message


def is_order_refusal(exc: BaseException) -> bool:
    """A venue 'no' to a new order (validation 422, insufficient buying power/qty 403)."""
    if not isinstance(exc, APIError):
        return False
    status = api_status(exc)
    if status == 422:
        return True
    return status == 403 and api_error_body(exc).get("code") == CODE_INSUFFICIENT


def _retry_after(exc: APIError) -> float | None:
    response = exc.response
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify_error(exc: BaseException) -> ErrorClass | None:
    """Map an alpaca-py / requests / websockets exception onto the taxonomy; None if it is not ours."""
    if isinstance(exc, BrokerError):
        return exc.error_class
    if isinstance(exc, APIError):
        status = api_status(exc)
        details: dict[str, Any] = {"http_status": status, **api_error_body(exc)}
        if status in (401, 403) and not is_order_refusal(exc):
            return ErrorClass(ErrorCategory.AUTH, ErrorScope.GLOBAL, ErrorAction.HALT_TRADING, AUTH_HALT,
                              details=details)
        if status == 429:
            return ErrorClass(ErrorCategory.RATE_LIMIT, ErrorScope.PROVIDER, ErrorAction.RETRY,
                              RATE_LIMIT_RETRY, retry_after_s=_retry_after(exc) or 1.0, details=details)
        if status is not None and status >= 500:
            return ErrorClass(ErrorCategory.TRANSIENT_NETWORK, ErrorScope.PROVIDER, ErrorAction.RETRY,
                              NET_RETRY, details=details)
        if status in (403, 422):
            return ErrorClass(ErrorCategory.ORDER_REJECTED, ErrorScope.SYMBOL, ErrorAction.SKIP_SYMBOL,
                              ORDER_REJECTED, details=details)
        if status == 404:
            return ErrorClass(ErrorCategory.BROKER_STATE, ErrorScope.SYMBOL, ErrorAction.SKIP_SYMBOL,
                              BROKER_STATE, details=details)
        return ErrorClass(ErrorCategory.UNKNOWN, ErrorScope.PROVIDER, ErrorAction.HALT_TRADING,
                          BROKER_STATE, details=details)
    if isinstance(exc, requests.exceptions.RequestException | WebSocketException | OSError):
        return ErrorClass(ErrorCategory.TRANSIENT_NETWORK, ErrorScope.PROVIDER, ErrorAction.RETRY, NET_RETRY,
                          details={"error": type(exc).__name__})
    if isinstance(exc, pydantic.ValidationError):
        return ErrorClass(ErrorCategory.PROVIDER_SCHEMA, ErrorScope.PROVIDER, ErrorAction.HALT_TRADING,
                          PROVIDER_SCHEMA, details={"error": str(exc)[:500]})
    return None


def to_broker_error(exc: BaseException, what: str) -> BrokerError:
    """Wrap a classified exception; unclassified ones are re-raised by the caller, not hidden."""
    error_class = classify_error(exc)
    if error_class is None:
        raise exc
    return BrokerError(f"alpaca {what}: {exc}", error_class)


def schema_error(what: str, detail: str) -> BrokerError:
    return BrokerError(
        f"alpaca {what}: unexpected payload ({detail})",
        ErrorClass(ErrorCategory.PROVIDER_SCHEMA, ErrorScope.PROVIDER, ErrorAction.HALT_TRADING,
                   PROVIDER_SCHEMA, details={"what": what, "detail": detail}),
    )
