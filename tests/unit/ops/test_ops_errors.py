"""classify_exception: the seed's table, broker mappings first, causes, retry-after, scrubbed details."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import pydantic
import pytest

from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory, ErrorClass, ErrorScope
from tradebot.ops import secrets
from tradebot.ops.errors import (
    DataValidationError,
    InvariantViolation,
    SchemaMismatch,
    classify_exception,
    http_status,
    require_valid_price,
    retry_after_seconds,
)


class HttpError(Exception):
    """Shaped like alpaca's APIError / aiohttp's ClientResponseError: a status and headers."""

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status_code = status
        self.headers = headers or {}


class _Response:
    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status_code = status
        self.headers = headers


class ResponseError(Exception):
    """Shaped like httpx.HTTPStatusError: the status lives on ``response``."""

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__("bad status")
        self.response = _Response(status, headers or {})


class ReadTimeout(Exception):
    """A client library's timeout class, recognised by name (httpx/requests call it this)."""


class _Model(pydantic.BaseModel):
    price: float


def _pydantic_error() -> pydantic.ValidationError:
    try:
        _Model.model_validate({"price": "not a number"})
    except pydantic.ValidationError as exc:
        return exc
    raise AssertionError("expected a validation error")


def _json_error() -> json.JSONDecodeError:
    try:
        json.loads("{")
    except json.JSONDecodeError as exc:
        return exc
    raise AssertionError("expected a decode error")


TABLE: list[tuple[BaseException, ErrorCategory, ErrorScope, ErrorAction, str]] = [
    (HttpError(401), ErrorCategory.AUTH, ErrorScope.GLOBAL, ErrorAction.HALT_TRADING, "AUTH_HALT"),
    (HttpError(403), ErrorCategory.AUTH, ErrorScope.GLOBAL, ErrorAction.HALT_TRADING, "AUTH_HALT"),
    (ResponseError(401), ErrorCategory.AUTH, ErrorScope.GLOBAL, ErrorAction.HALT_TRADING, "AUTH_HALT"),
    (HttpError(429), ErrorCategory.RATE_LIMIT, ErrorScope.PROVIDER, ErrorAction.RETRY, "RATE_LIMIT_RETRY"),
    (HttpError(503), ErrorCategory.TRANSIENT_NETWORK, ErrorScope.PROVIDER, ErrorAction.RETRY, "NET_RETRY"),
    (
        HttpError(400),
        ErrorCategory.ORDER_REJECTED,
        ErrorScope.SYMBOL,
        ErrorAction.SKIP_SYMBOL,
        "REQUEST_REFUSED",
    ),
    (TimeoutError("t"), ErrorCategory.TRANSIENT_NETWORK, ErrorScope.PROVIDER, ErrorAction.RETRY, "NET_RETRY"),
    (
        ConnectionResetError(),
        ErrorCategory.TRANSIENT_NETWORK,
        ErrorScope.PROVIDER,
        ErrorAction.RETRY,
        "NET_RETRY",
    ),
    (
        socket.gaierror(-2, "x"),
        ErrorCategory.TRANSIENT_NETWORK,
        ErrorScope.PROVIDER,
        ErrorAction.RETRY,
        "NET_RETRY",
    ),
    (ReadTimeout(), ErrorCategory.TRANSIENT_NETWORK, ErrorScope.PROVIDER, ErrorAction.RETRY, "NET_RETRY"),
    (
        ssl.SSLEOFError(8, "EOF"),
        ErrorCategory.TRANSIENT_NETWORK,
        ErrorScope.PROVIDER,
        ErrorAction.RETRY,
        "NET_RETRY",
    ),
    (
        InvariantViolation("price is NaN", field="price"),
        ErrorCategory.INVARIANT_VIOLATION,
        ErrorScope.GLOBAL,
        ErrorAction.HALT_TRADING,
        "INVARIANT_HALT",
    ),
    (
        InvalidOperation(),
        ErrorCategory.INVARIANT_VIOLATION,
        ErrorScope.GLOBAL,
        ErrorAction.HALT_TRADING,
        "INVARIANT_HALT",
    ),
    (
        ZeroDivisionError(),
        ErrorCategory.INVARIANT_VIOLATION,
        ErrorScope.GLOBAL,
        ErrorAction.HALT_TRADING,
        "INVARIANT_HALT",
    ),
    (
        DataValidationError("gap"),
        ErrorCategory.BAD_DATA,
        ErrorScope.SYMBOL,
        ErrorAction.SKIP_SYMBOL,
        "BAD_DATA_SKIP",
    ),
    (
        SchemaMismatch("no field"),
        ErrorCategory.PROVIDER_SCHEMA,
        ErrorScope.PROVIDER,
        ErrorAction.DISABLE_PROVIDER,
        "PROVIDER_SCHEMA_DISABLE",
    ),
    (
        _json_error(),
        ErrorCategory.PROVIDER_SCHEMA,
        ErrorScope.PROVIDER,
        ErrorAction.DISABLE_PROVIDER,
        "PROVIDER_SCHEMA_DISABLE",
    ),
    (
        _pydantic_error(),
        ErrorCategory.PROVIDER_SCHEMA,
        ErrorScope.PROVIDER,
        ErrorAction.DISABLE_PROVIDER,
        "PROVIDER_SCHEMA_DISABLE",
    ),
    (
        TypeError("x"),
        ErrorCategory.PROGRAMMING_ERROR,
        ErrorScope.GLOBAL,
        ErrorAction.HALT_TRADING,
        "PROGRAMMING_ERROR_HALT",
    ),
    (
        KeyError("x"),
        ErrorCategory.PROGRAMMING_ERROR,
        ErrorScope.GLOBAL,
        ErrorAction.HALT_TRADING,
        "PROGRAMMING_ERROR_HALT",
    ),
    (
        AttributeError("x"),
        ErrorCategory.PROGRAMMING_ERROR,
        ErrorScope.GLOBAL,
        ErrorAction.HALT_TRADING,
        "PROGRAMMING_ERROR_HALT",
    ),
    (
        RuntimeError("?"),
        ErrorCategory.UNKNOWN,
        ErrorScope.GLOBAL,
        ErrorAction.HALT_TRADING,
        "UNKNOWN_ERROR_HALT",
    ),
    (
        ValueError("?"),
        ErrorCategory.UNKNOWN,
        ErrorScope.GLOBAL,
        ErrorAction.HALT_TRADING,
        "UNKNOWN_ERROR_HALT",
    ),
    (
        PermissionError("/x"),
        ErrorCategory.UNKNOWN,
        ErrorScope.GLOBAL,
        ErrorAction.HALT_TRADING,
        "UNKNOWN_ERROR_HALT",
    ),
]


@pytest.mark.parametrize(("exc", "category", "scope", "action", "code"), TABLE, ids=lambda v: repr(v)[:40])
def test_classification_table(
    exc: BaseException, category: ErrorCategory, scope: ErrorScope, action: ErrorAction, code: str
) -> None:
    got = classify_exception(exc)
    assert (got.category, got.scope, got.action, got.code) == (category, scope, action, code)
    assert got.details["exception"] == type(exc).__name__


def test_rate_limit_honours_retry_after_header_and_attribute() -> None:
    assert classify_exception(HttpError(429, {"Retry-After": "7"})).retry_after_s == 7.0
    assert classify_exception(ResponseError(429, {"retry-after": "2.5"})).retry_after_s == 2.5
    exc = HttpError(429)
    exc.retry_after = 3  # type: ignore[attr-defined]
    assert classify_exception(exc).retry_after_s == 3.0
    assert (
        classify_exception(HttpError(429, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"})).retry_after_s
        is None
    )


def test_venue_error_codes_are_not_http_statuses() -> None:
    exc = RuntimeError("binance -1003")
    exc.code = -1003  # type: ignore[attr-defined]
    assert http_status(exc) is None
    assert retry_after_seconds(exc) is None


def test_scope_hint_narrows_call_site_dependent_scopes_only() -> None:
    assert classify_exception(TimeoutError(), scope_hint=ErrorScope.SYMBOL).scope is ErrorScope.SYMBOL
    assert classify_exception(HttpError(401), scope_hint=ErrorScope.SYMBOL).scope is ErrorScope.GLOBAL
    assert classify_exception(TypeError(), scope_hint=ErrorScope.SYMBOL).scope is ErrorScope.GLOBAL


def test_broker_error_carries_its_own_class() -> None:
    ec = ErrorClass(
        ErrorCategory.BROKER_STATE, ErrorScope.SYMBOL, ErrorAction.SKIP_SYMBOL, "VENUE_POSITION_SIDE"
    )
    assert classify_exception(BrokerError("position side mismatch", ec)) is ec


class _Broker:
    def __init__(self, answer: ErrorClass | None = None, fail: bool = False) -> None:
        self.answer = answer
        self.fail = fail
        self.seen: list[BaseException] = []

    def classify_error(self, exc: BaseException) -> ErrorClass | None:
        self.seen.append(exc)
        if self.fail:
            raise RuntimeError("classifier bug")
        return self.answer


def test_broker_classifier_is_consulted_first() -> None:
    ec = ErrorClass(ErrorCategory.AUTH, ErrorScope.GLOBAL, ErrorAction.HALT_TRADING, "AUTH_HALT")
    broker = _Broker(ec)
    exc = ValueError("venue said: invalid api key")
    assert classify_exception(exc, broker=broker) is ec
    assert broker.seen == [exc]


def test_broker_classifier_none_falls_back_to_table_and_a_broken_one_is_noted() -> None:
    assert classify_exception(TimeoutError(), broker=_Broker(None)).code == "NET_RETRY"
    got = classify_exception(TimeoutError(), broker=_Broker(fail=True))
    assert got.code == "NET_RETRY"
    assert "classifier bug" in got.details["classifier_error"]


def test_wrapped_exception_is_classified_by_its_cause() -> None:
    try:
        try:
            raise ConnectionResetError("peer reset")
        except ConnectionResetError as inner:
            raise RuntimeError("fetch failed") from inner
    except RuntimeError as outer:
        got = classify_exception(outer)
    assert got.code == "NET_RETRY"
    assert got.details["wrapped_in"] == "RuntimeError"


def test_details_never_carry_a_registered_secret(registered_secret: str) -> None:
    exc = RuntimeError(f"auth failed for key {registered_secret}")
    got = classify_exception(exc)
    assert registered_secret not in got.details["message"]
    assert "**********" in got.details["message"]


@pytest.fixture
def registered_secret() -> Iterator[str]:
    value = "sk-test-ERRORS-0123456789"
    secrets.register_secret(value, "test")
    yield value
    secrets.REGISTRY.clear()


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("Infinity"), float("nan"), float("-inf"), -1.0, Decimal(0)]
)
def test_require_valid_price_rejects_impossible_prices(value: Any) -> None:
    with pytest.raises(InvariantViolation, match="entry_price") as info:
        require_valid_price(value, "entry_price")
    assert classify_exception(info.value).action is ErrorAction.HALT_TRADING


def test_require_valid_price_accepts_positive_and_optional_zero() -> None:
    require_valid_price(Decimal("4500.25"), "limit_price")
    require_valid_price(0.0, "fee", allow_zero=True)
