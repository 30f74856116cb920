"""Alert rules and the dispatcher (notifications through apprise: tests/integration/test_ops_webhook.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tradebot.domain.errors import ErrorAction, ErrorCategory, ErrorClass, ErrorScope
from tradebot.ops.alerts import (
    Alert,
    AlertDispatcher,
    AlertRules,
    AlertThresholds,
    Severity,
    build_sinks,
    store_sink,
)
from tradebot.ops.breakers import CircuitBreaker

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def _open(dep: str) -> Any:
    b = CircuitBreaker(dep)
    err = ErrorClass(ErrorCategory.RATE_LIMIT, ErrorScope.PROVIDER, ErrorAction.RETRY, "RATE_LIMIT_RETRY")
    transition = None
    for k in range(3):
        transition = b.record_failure(at(k), err)
    return transition


def test_breaker_open_alert_severity_depends_on_the_dependency() -> None:
    rules = AlertRules()
    submit = rules.on_breaker_transition(_open("broker_submit"))
    assert submit is not None and submit.code == "ALERT_BREAKER_OPEN" and submit.severity is Severity.CRITICAL
    assert submit.details["breaker_code"] == "CIRCUIT_OPEN_BROKER_SUBMIT"
    assert submit.details["last_error_code"] == "RATE_LIMIT_RETRY"
    quotes = rules.on_breaker_transition(_open("quotes"))
    assert quotes is not None and quotes.severity is Severity.WARNING


def test_the_same_alert_is_not_repeated_within_the_quiet_period() -> None:
    rules = AlertRules(AlertThresholds(repeat_after_s=300))
    assert rules.on_data_age(at(400), "MES", at(0)) is not None
    assert rules.on_data_age(at(500), "MES", at(0)) is None
    assert rules.on_data_age(at(500), "MNQ", at(0)) is not None  # another key
    assert rules.on_data_age(at(701), "MES", at(0)) is not None


def test_repeated_rejects_fire_at_the_threshold_within_the_window() -> None:
    rules = AlertRules(AlertThresholds(rejects_threshold=3, rejects_window_s=600))
    assert rules.on_reject(at(0), "c1", "MES", "margin") is None
    assert rules.on_reject(at(700), "c2", "MES", "margin") is None  # the first left the window
    assert rules.on_reject(at(800), "c3", "MES", "margin") is None
    alert = rules.on_reject(at(900), "c4", "MES", "margin")
    assert alert is not None and alert.code == "ALERT_REPEATED_REJECTS"
    assert alert.details["rejects_in_window"] == 3


def test_stale_data_and_fresh_data() -> None:
    rules = AlertRules(AlertThresholds(stale_after_s=180))
    assert rules.on_data_age(at(180), "MES", at(0)) is None
    stale = rules.on_data_age(at(181), "MES", at(0))
    assert stale is not None and stale.code == "ALERT_STALE_DATA" and stale.details["age_s"] == 181
    assert AlertRules().on_data_age(at(0), "MES", None) is not None  # no bar at all


def test_stale_data_counts_from_when_the_next_bar_was_due() -> None:
    rules = AlertRules(AlertThresholds(stale_after_s=180))
    # 5-minute bars: the next one is due 300 s after the last one closed, stale 180 s after that
    assert rules.on_data_age(at(480), "MES", at(0), interval_s=300) is None
    stale = rules.on_data_age(at(481), "MES", at(0), interval_s=300)
    assert stale is not None and stale.details["late_s"] == 181 and stale.details["age_s"] == 481


def test_halt_errors_and_mismatches_always_alert() -> None:
    rules = AlertRules()
    auth = ErrorClass(ErrorCategory.AUTH, ErrorScope.GLOBAL, ErrorAction.HALT_TRADING, "AUTH_HALT")
    retry = ErrorClass(ErrorCategory.TRANSIENT_NETWORK, ErrorScope.PROVIDER, ErrorAction.RETRY, "NET_RETRY")
    halt = rules.on_error(at(0), auth, dependency="broker_submit")
    assert halt is not None and halt.code == "ALERT_HALT" and halt.details["halt_code"] == "AUTH_HALT"
    assert rules.on_error(at(0), retry) is None
    assert rules.on_halt(at(1), "KILL_SWITCH").details == {"halt_code": "KILL_SWITCH"}
    mismatch = rules.on_reconciliation_mismatch(at(2), {"symbol": "MES", "ours": "1", "venue": "2"})
    assert mismatch.code == "ALERT_RECONCILIATION_MISMATCH" and mismatch.severity is Severity.CRITICAL


def test_dispatcher_survives_a_failing_sink_and_feeds_the_store() -> None:
    written: list[tuple[str, Mapping[str, Any]]] = []

    def broken(alert: Alert) -> None:
        raise RuntimeError("sink down")

    dispatcher = AlertDispatcher([broken, store_sink(lambda code, body: written.append((code, body)))])
    dispatcher.emit(Alert("ALERT_HALT", Severity.CRITICAL, {"halt_code": "AUTH_HALT"}, T0))
    dispatcher.emit(None)
    assert written == [
        (
            "ALERT_HALT",
            {
                "code": "ALERT_HALT",
                "severity": "CRITICAL",
                "ts": T0.isoformat(),
                "details": {"halt_code": "AUTH_HALT"},
            },
        )
    ]


def test_build_sinks_without_notifier() -> None:
    dispatcher = build_sinks(store_write=lambda code, body: None)
    assert len(dispatcher.sinks) == 2
