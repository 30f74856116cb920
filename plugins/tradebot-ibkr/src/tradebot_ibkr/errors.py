"""IB error codes → the error taxonomy, and the plugin's reason codes.

IB reports almost everything through ``error(reqId, code, text)``; codes 2100-2199 are informational
(farm status), 1100/1101/1102 are connectivity between TWS and IB's servers, 502/504 mean our socket is
not connected to TWS at all, 326 means another session holds our client id.
"""

from __future__ import annotations

import asyncio
from typing import Final

from tradebot.domain import reasons as R
from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory, ErrorClass, ErrorScope

# --- reason codes this plugin emits (plain strings; see tradebot.domain.reasons for the shared ones) ----
IB_CONNECTING: Final = "IB_CONNECTING"
IB_CONNECTED: Final = "IB_CONNECTED"  # socket up and synchronised, adapter resync pending
IB_READY: Final = "IB_READY"
IB_SOCKET_DROPPED: Final = "IB_SOCKET_DROPPED"
IB_NIGHTLY_RESTART: Final = "IB_NIGHTLY_RESTART"
IB_CONNECTIVITY_LOST: Final = "IB_CONNECTIVITY_LOST"  # 1100
IB_CONNECTIVITY_RESTORED_DATA_LOST: Final = "IB_CONNECTIVITY_RESTORED_DATA_LOST"  # 1101
IB_CONNECTIVITY_RESTORED: Final = "IB_CONNECTIVITY_RESTORED"  # 1102
IB_DUPLICATE_CLIENT_ID: Final = "IB_DUPLICATE_CLIENT_ID"  # 326
IB_CONNECT_FAILED: Final = "IB_CONNECT_FAILED"
IB_NOT_CONNECTED: Final = "IB_NOT_CONNECTED"  # 502/504, or a call while not READY
IB_CLOSED: Final = "IB_CLOSED"
IB_ORDER_REJECTED: Final = "IB_ORDER_REJECTED"  # 201 and other order errors
IB_ORDER_CANCELED: Final = "IB_ORDER_CANCELED"  # 202
IB_UNKNOWN_ORDER: Final = "IB_UNKNOWN_ORDER"  # 10147 / a client order id we never sent
IB_NO_SECURITY_DEFINITION: Final = "IB_NO_SECURITY_DEFINITION"  # 200
IB_MARKET_DATA_ERROR: Final = "IB_MARKET_DATA_ERROR"  # 162, 354, 366, 10225...
IB_PACING_VIOLATION: Final = "IB_PACING_VIOLATION"  # 100, 420
IB_PERMISSION_DENIED: Final = "IB_PERMISSION_DENIED"  # 10141 and friends
IB_REQUEST_TIMEOUT: Final = "IB_REQUEST_TIMEOUT"
IB_RECONCILED_NOT_OPEN: Final = "IB_RECONCILED_NOT_OPEN"  # an order gone from the venue while we were away
IB_ERROR: Final = "IB_ERROR"

ALL_IB_CODES: Final = frozenset(
    v for k, v in dict(globals()).items() if k.startswith("IB_") and isinstance(v, str)
)

INFO_CODES: Final = frozenset(range(2100, 2200))
CONNECTIVITY_CODES: Final = frozenset({1100, 1101, 1102, 1300})
# fmt: off
ORDER_REJECT_CODES: Final = frozenset({
    103, 104, 105, 106, 107, 109, 110, 111, 113, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 129,
    131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 151, 152, 153,
    154, 155, 156, 157, 158, 159, 160, 161, 163, 164, 201, 382, 383, 387, 388, 461, 10006, 10148,
})
# fmt: on


class IbkrApiError(Exception):
    """An error IB answered with: ``code`` is IB's error code, ``req_id`` the request or order id."""

    def __init__(self, code: int, message: str, req_id: int = -1) -> None:
        super().__init__(f"IB error {code} (reqId {req_id}): {message}")
        self.code = code
        self.req_id = req_id
        self.ib_message = message


def _cls(
    category: ErrorCategory,
    scope: ErrorScope,
    action: ErrorAction,
    code: str,
    ib_reason: str,
    ib_code: int | None,
    retry_after_s: float | None = None,
) -> ErrorClass:
    details: dict[str, object] = {"ib_reason": ib_reason}
    if ib_code is not None:
        details["ib_code"] = ib_code
    return ErrorClass(category, scope, action, code, retry_after_s=retry_after_s, details=details)


def classify_ib_code(code: int) -> ErrorClass:
    """One IB error code onto the taxonomy.

    ``ErrorClass.code`` is the shared reason code (AUTH_HALT, RATE_LIMIT_RETRY, NET_RETRY, ORDER_REJECTED,
    BROKER_STATE_ERROR) where the taxonomy has one; the IB-specific reason is ``details["ib_reason"]``.
    """
    net, rate, auth = ErrorCategory.TRANSIENT_NETWORK, ErrorCategory.RATE_LIMIT, ErrorCategory.AUTH
    provider, symbol, glob = ErrorScope.PROVIDER, ErrorScope.SYMBOL, ErrorScope.GLOBAL
    retry, skip, halt = ErrorAction.RETRY, ErrorAction.SKIP_SYMBOL, ErrorAction.HALT_TRADING
    if code in (100, 420):
        wait = 1.0 if code == 100 else 10.0
        return _cls(rate, provider, retry, R.RATE_LIMIT_RETRY, IB_PACING_VIOLATION, code, retry_after_s=wait)
    if code in (1100, 1300):
        return _cls(net, provider, retry, R.NET_RETRY, IB_CONNECTIVITY_LOST, code)
    if code == 1101:
        return _cls(net, provider, retry, R.NET_RETRY, IB_CONNECTIVITY_RESTORED_DATA_LOST, code)
    if code == 1102:
        return _cls(net, provider, retry, R.NET_RETRY, IB_CONNECTIVITY_RESTORED, code)
    if code in (502, 504, 507):
        return _cls(net, provider, retry, R.NET_RETRY, IB_NOT_CONNECTED, code)
    if code == 326:
        return _cls(auth, glob, halt, R.AUTH_HALT, IB_DUPLICATE_CLIENT_ID, code)
    if code in (10141, 10142, 10143, 203):
        return _cls(auth, glob, halt, R.AUTH_HALT, IB_PERMISSION_DENIED, code)
    if code == 200:
        return _cls(
            ErrorCategory.BAD_DATA, symbol, skip, IB_NO_SECURITY_DEFINITION, IB_NO_SECURITY_DEFINITION, code
        )
    if code in (162, 354, 366, 10089, 10090, 10167, 10168, 10225):
        return _cls(ErrorCategory.BAD_DATA, symbol, skip, IB_MARKET_DATA_ERROR, IB_MARKET_DATA_ERROR, code)
    if code == 202:
        return _cls(ErrorCategory.BROKER_STATE, symbol, skip, R.BROKER_STATE_ERROR, IB_ORDER_CANCELED, code)
    if code == 10147:
        return _cls(ErrorCategory.BROKER_STATE, symbol, skip, R.BROKER_STATE_ERROR, IB_UNKNOWN_ORDER, code)
    if code in ORDER_REJECT_CODES:
        return _cls(ErrorCategory.ORDER_REJECTED, symbol, skip, R.ORDER_REJECTED, IB_ORDER_REJECTED, code)
    return _cls(ErrorCategory.UNKNOWN, provider, retry, IB_ERROR, IB_ERROR, code)


def is_request_failure(error_class: ErrorClass) -> bool:
    """A failure of the request itself (throttled, refused, cut off), not the venue's verdict on an order."""
    return error_class.category in (
        ErrorCategory.RATE_LIMIT,
        ErrorCategory.AUTH,
        ErrorCategory.TRANSIENT_NETWORK,
    )


def network_error(ib_reason: str, **details: object) -> ErrorClass:
    cls = _cls(
        ErrorCategory.TRANSIENT_NETWORK, ErrorScope.PROVIDER, ErrorAction.RETRY, R.NET_RETRY, ib_reason, None
    )
    return ErrorClass(cls.category, cls.scope, cls.action, cls.code, details={**cls.details, **details})


def classify_error(exc: BaseException) -> ErrorClass | None:
    """Map an exception seen around ib_async onto the taxonomy; None when it is not a venue error."""
    if isinstance(exc, BrokerError):
        return exc.error_class
    if isinstance(exc, IbkrApiError):
        return classify_ib_code(exc.code)
    code = getattr(exc, "code", None)  # ib_async.RequestError(reqId, code, message)
    if type(exc).__name__ == "RequestError" and isinstance(code, int):
        return classify_ib_code(code)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return network_error(IB_REQUEST_TIMEOUT)
    if isinstance(exc, ConnectionError | OSError):
        return network_error(IB_NOT_CONNECTED)
    return None


def broker_error(message: str, error_class: ErrorClass) -> BrokerError:
    return BrokerError(message, error_class)


def not_ready_error(state: str) -> BrokerError:
    return BrokerError(f"IB connection is {state}, not READY", network_error(IB_NOT_CONNECTED, state=state))
