"""An exception no stage handled always halts: nothing is left to retry, skip or disable it."""

from __future__ import annotations

import pytest

from tradebot.domain.errors import ErrorAction, ErrorScope
from tradebot.ops.errors import DataValidationError, classify_unhandled


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (KeyError("x"), "PROGRAMMING_ERROR_HALT"),
        (ZeroDivisionError("x"), "INVARIANT_HALT"),
        (RuntimeError("x"), "UNKNOWN_ERROR_HALT"),
    ],
)
def test_a_halting_class_keeps_its_own_code(exc: Exception, code: str) -> None:
    error = classify_unhandled(exc)
    assert error.code == code
    assert error.action is ErrorAction.HALT_TRADING and error.scope is ErrorScope.GLOBAL


@pytest.mark.parametrize(
    ("exc", "classified_as"),
    [(ConnectionError("reset"), "NET_RETRY"), (DataValidationError("bad bar"), "BAD_DATA_SKIP")],
)
def test_a_class_that_would_retry_or_skip_halts_with_internal_error(
    exc: Exception, classified_as: str
) -> None:
    error = classify_unhandled(exc)
    assert error.code == "INTERNAL_ERROR"
    assert error.action is ErrorAction.HALT_TRADING and error.scope is ErrorScope.GLOBAL
    assert error.details["classified_as"] == classified_as
    assert error.details["exception"] == type(exc).__name__ and error.details["message"] == str(exc)
