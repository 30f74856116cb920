"""Dependency breakers on an injected clock: 3/60 s -> 60 s, 10/10 min -> 900 s, half-open probe, recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tradebot.domain.errors import ErrorAction, ErrorCategory, ErrorClass, ErrorScope
from tradebot.ops.breakers import (
    DEPENDENCIES,
    BreakerBoard,
    BreakerPolicy,
    BreakerState,
    CircuitBreaker,
    circuit_open_code,
)
from tradebot.risk.verdict import Outcome

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
NET = ErrorClass(
    ErrorCategory.TRANSIENT_NETWORK,
    ErrorScope.PROVIDER,
    ErrorAction.RETRY,
    "NET_RETRY",
    details={"exception": "TimeoutError"},
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_three_failures_within_60s_open_for_60s_with_code_and_last_error() -> None:
    b = CircuitBreaker("broker_positions")
    assert b.record_failure(at(0), NET) is None
    assert b.record_failure(at(20), NET) is None
    transition = b.record_failure(at(40), NET)
    assert transition is not None and transition.to_state is BreakerState.OPEN
    assert transition.trigger == "short_window" and transition.open_until == at(100)
    decision = b.allow(at(99.9))
    assert not decision.allowed
    assert decision.code == "CIRCUIT_OPEN_BROKER_POSITIONS"
    assert decision.last_error is NET
    assert decision.details["last_error_code"] == "NET_RETRY"
    verdict = decision.to_verdict()
    assert verdict.outcome is Outcome.BLOCK and verdict.code == "CIRCUIT_OPEN_BROKER_POSITIONS"


def test_failures_spread_beyond_the_short_window_do_not_open() -> None:
    b = CircuitBreaker("quotes")
    for t in (0, 31, 62, 93):  # never 3 within 60 s
        assert b.record_failure(at(t), NET) is None
    assert b.allow(at(94)).allowed


def test_half_open_grants_a_single_probe_and_success_closes() -> None:
    b = CircuitBreaker("data_primary")
    for t in (0, 1, 2):
        b.record_failure(at(t), NET)
    assert b.state(at(61.9)) is BreakerState.OPEN
    assert b.state(at(62)) is BreakerState.HALF_OPEN
    probe = b.allow(at(62))
    assert probe.allowed and probe.probe
    second = b.allow(at(62.5))
    assert not second.allowed and second.code == "CIRCUIT_OPEN_DATA_PRIMARY"
    transition = b.record_success(at(63))
    assert transition is not None and transition.to_state is BreakerState.CLOSED
    assert b.allow(at(63)).allowed and not b.allow(at(63)).probe


def test_failed_probe_reopens_for_the_same_period() -> None:
    b = CircuitBreaker("broker_open_orders")
    for t in (0, 1, 2):
        b.record_failure(at(t), NET)
    assert b.allow(at(62)).probe
    transition = b.record_failure(at(63), NET)
    assert transition is not None and transition.trigger == "probe_failed"
    assert transition.open_until == at(123)
    assert not b.allow(at(122)).allowed
    assert b.allow(at(123)).probe


def test_unanswered_probe_is_reissued_after_the_probe_timeout() -> None:
    b = CircuitBreaker("calendar", BreakerPolicy(probe_timeout_s=30))
    for t in (0, 1, 2):
        b.record_failure(at(t), NET)
    assert b.allow(at(62)).probe
    assert not b.allow(at(91)).allowed
    assert b.allow(at(92)).probe


def test_ten_failures_in_ten_minutes_escalate_to_900s() -> None:
    b = CircuitBreaker("broker_submit")
    triggers = []
    base = 0.0
    for _cycle in range(3):  # flapping: 3 failures open it for 60 s, the probe succeeds, again
        for k in range(3):
            transition = b.record_failure(at(base + k), NET)
        assert transition is not None
        triggers.append((transition.trigger, transition.open_until))
        assert b.allow(at(base + 62)).probe
        b.record_success(at(base + 62))
        base += 63
    assert triggers == [("short_window", at(62)), ("short_window", at(125)), ("short_window", at(188))]
    escalated = b.record_failure(at(base), NET)  # the 10th failure within 10 minutes
    assert escalated is not None and escalated.trigger == "long_window" and escalated.failures_long == 10
    assert escalated.open_until == at(base + 900)
    assert not b.allow(at(base + 899)).allowed
    assert b.allow(at(base + 900)).probe


def test_failures_while_open_are_counted_but_do_not_extend() -> None:
    b = CircuitBreaker("quotes")
    for t in (0, 1, 2):
        b.record_failure(at(t), NET)
    assert b.record_failure(at(30), NET) is None
    assert b.opened_until == at(62)
    assert b.failure_counts(at(30)) == (4, 4)


def test_recovery_then_old_failures_age_out() -> None:
    b = CircuitBreaker("quotes")
    for t in (0, 1, 2):
        b.record_failure(at(t), NET)
    b.allow(at(62))
    b.record_success(at(62))
    assert b.record_failure(at(63), NET) is None  # the earlier three are outside the 60 s window now
    assert b.allow(at(64)).allowed
    assert b.failure_counts(at(700)) == (0, 0)


def test_board_has_every_dependency_and_reports_states() -> None:
    board = BreakerBoard()
    assert set(DEPENDENCIES) == {
        "broker_submit",
        "broker_positions",
        "broker_open_orders",
        "data_primary",
        "quotes",
        "calendar",
    }
    for t in (0, 1, 2):
        board.record_failure("quotes", at(t), NET)
    states = board.states(at(3))
    assert states["quotes"] is BreakerState.OPEN
    assert all(s is BreakerState.CLOSED for d, s in states.items() if d != "quotes")
    assert [d.code for d in board.blocking(at(3), DEPENDENCIES)] == ["CIRCUIT_OPEN_QUOTES"]
    with pytest.raises(KeyError, match="nope"):
        board.allow("nope", at(3))


def test_circuit_open_code_upper_cases_the_dependency() -> None:
    assert circuit_open_code("broker_submit") == "CIRCUIT_OPEN_BROKER_SUBMIT"


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="short_threshold"):
        BreakerPolicy(short_threshold=0)
