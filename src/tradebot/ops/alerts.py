"""Alerts: threshold rules turn pipeline facts into ``Alert(code="ALERT_...")``; sinks ship them.

Rules (``AlertRules``), each returning an ``Alert`` or None:

- ``on_breaker_transition``: a breaker opened -> ALERT_BREAKER_OPEN (CRITICAL for critical dependencies)
- ``on_reject``: ``rejects_threshold`` rejects within ``rejects_window_s`` -> ALERT_REPEATED_REJECTS
- ``on_data_age``: the next bar more than ``stale_after_s`` late -> ALERT_STALE_DATA
- ``on_reconciliation_mismatch`` -> ALERT_RECONCILIATION_MISMATCH (CRITICAL)
- ``on_halt`` (any move to HALTED) and ``on_error`` (any error whose action is HALT_TRADING) -> ALERT_HALT

An alert with the same code and key is not repeated within ``repeat_after_s`` (halts always are).
Sinks: ``store_sink(write)`` (the pipeline's ALERT_* event writer), ``log_sink`` (one readable line under
the alert's code, the details in the JSON log) and ``tradebot.ops.notify.Notifier`` (apprise: Telegram,
Slack, Discord, e-mail, JSON webhooks; from a worker thread, never blocks the caller). ``AlertDispatcher``
calls every sink; a failing sink is logged, never raised into trading.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from loguru import logger

from tradebot.domain import reasons
from tradebot.domain.errors import ErrorAction, ErrorClass
from tradebot.ops.breakers import BreakerState, BreakerTransition, Dependency
from tradebot.ops.secrets import redact


class Severity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True, slots=True)
class Alert:
    code: str
    severity: Severity
    details: Mapping[str, Any]
    ts: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, secrets redacted."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "ts": self.ts.isoformat(),
            "details": redact(dict(self.details)),
        }


AlertSink = Callable[[Alert], None]


@dataclass(frozen=True, slots=True)
class AlertThresholds:
    rejects_threshold: int = 3
    rejects_window_s: float = 600.0
    stale_after_s: float = 180.0
    repeat_after_s: float = 300.0
    critical_dependencies: frozenset[str] = field(
        default_factory=lambda: frozenset(
            {
                Dependency.BROKER_SUBMIT.value,
                Dependency.BROKER_POSITIONS.value,
                Dependency.BROKER_OPEN_ORDERS.value,
                Dependency.DATA_PRIMARY.value,
            }
        )
    )


class AlertRules:
    def __init__(self, thresholds: AlertThresholds | None = None) -> None:
        self.t = thresholds or AlertThresholds()
        self._rejects: deque[datetime] = deque()
        self._last_sent: dict[tuple[str, str], datetime] = {}

    def on_breaker_transition(self, transition: BreakerTransition) -> Alert | None:
        if transition.to_state is not BreakerState.OPEN:
            return None
        critical = transition.dependency in self.t.critical_dependencies
        details: dict[str, Any] = {
            "dependency": transition.dependency,
            "breaker_code": transition.code,
            "trigger": transition.trigger,
            "open_until": transition.open_until.isoformat() if transition.open_until else None,
            "failures_short_window": transition.failures_short,
            "failures_long_window": transition.failures_long,
        }
        if transition.last_error is not None:
            details["last_error_code"] = transition.last_error.code
        return self._maybe(
            reasons.ALERT_BREAKER_OPEN,
            transition.dependency,
            Severity.CRITICAL if critical else Severity.WARNING,
            details,
            transition.at,
        )

    def on_reject(self, now: datetime, client_order_id: str, symbol: str, reason: str) -> Alert | None:
        window = timedelta(seconds=self.t.rejects_window_s)
        self._rejects.append(now)
        while self._rejects and self._rejects[0] <= now - window:
            self._rejects.popleft()
        if len(self._rejects) < self.t.rejects_threshold:
            return None
        details = {
            "rejects_in_window": len(self._rejects),
            "window_s": self.t.rejects_window_s,
            "last_client_order_id": client_order_id,
            "last_symbol": symbol,
            "last_reason": reason,
        }
        return self._maybe(reasons.ALERT_REPEATED_REJECTS, "", Severity.WARNING, details, now)

    def on_data_age(
        self, now: datetime, symbol: str, last_bar_at: datetime | None, interval_s: float = 0.0
    ) -> Alert | None:
        """``last_bar_at``: when the newest bar closed (None: no bar yet); ``interval_s``: the bar size, so
        the next bar is due ``interval_s`` after it and is stale ``stale_after_s`` after that."""
        age = None if last_bar_at is None else (now - last_bar_at).total_seconds()
        late = None if age is None else age - interval_s
        if late is not None and late <= self.t.stale_after_s:
            return None
        details = {
            "symbol": symbol,
            "age_s": age,
            "late_s": late,
            "interval_s": interval_s,
            "stale_after_s": self.t.stale_after_s,
            "last_bar_at": last_bar_at.isoformat() if last_bar_at else None,
        }
        return self._maybe(reasons.ALERT_STALE_DATA, symbol, Severity.WARNING, details, now)

    def on_reconciliation_mismatch(self, now: datetime, details: Mapping[str, Any]) -> Alert:
        return Alert(reasons.ALERT_RECONCILIATION_MISMATCH, Severity.CRITICAL, dict(details), now)

    def on_halt(self, now: datetime, code: str, details: Mapping[str, Any] | None = None) -> Alert:
        return Alert(reasons.ALERT_HALT, Severity.CRITICAL, {"halt_code": code, **(details or {})}, now)

    def on_error(self, now: datetime, error: ErrorClass, **context: Any) -> Alert | None:
        if error.action is not ErrorAction.HALT_TRADING:
            return None
        return self.on_halt(
            now, error.code, {"category": error.category.value, **dict(error.details), **context}
        )

    def _maybe(
        self, code: str, key: str, severity: Severity, details: Mapping[str, Any], now: datetime
    ) -> Alert | None:
        last = self._last_sent.get((code, key))
        if last is not None and now - last < timedelta(seconds=self.t.repeat_after_s):
            return None
        self._last_sent[(code, key)] = now
        return Alert(code, severity, details, now)


class AlertDispatcher:
    def __init__(self, sinks: Iterable[AlertSink] = ()) -> None:
        self.sinks: list[AlertSink] = list(sinks)

    def emit(self, alert: Alert | None) -> None:
        if alert is None:
            return
        for sink in self.sinks:
            try:
                sink(alert)
            except Exception as exc:  # noqa: BLE001 - an alert sink must never break trading; logged
                logger.bind(code=alert.code).opt(exception=exc).error(
                    "alert sink {s} failed", s=getattr(sink, "__name__", type(sink).__name__)
                )


def log_sink(alert: Alert) -> None:
    """One line: ``[ALERT_HALT] HALTED: ...`` on the console; the details as an object in the JSON log."""
    from tradebot.ops.alert_text import alert_text

    level = "CRITICAL" if alert.severity is Severity.CRITICAL else alert.severity.value
    details = alert.to_dict()["details"]
    logger.bind(code=alert.code, severity=alert.severity.value, details=details).log(
        level, alert_text(alert).title
    )


def store_sink(write: Callable[[str, Mapping[str, Any]], None]) -> AlertSink:
    """A sink that hands ``(code, alert dict)`` to the pipeline's event writer (kind ALERT_*)."""

    def sink(alert: Alert) -> None:
        write(alert.code, alert.to_dict())

    return sink


def build_sinks(
    store_write: Callable[[str, Mapping[str, Any]], None] | None = None,
    notifier: AlertSink | None = None,
) -> AlertDispatcher:
    """The standard dispatcher: store (when given), log, and notifications (when configured)."""
    sinks: list[AlertSink] = []
    if store_write is not None:
        sinks.append(store_sink(store_write))
    sinks.append(log_sink)
    if notifier is not None:
        sinks.append(notifier)
    return AlertDispatcher(sinks)


__all__: Sequence[str] = (
    "Alert",
    "AlertDispatcher",
    "AlertRules",
    "AlertSink",
    "AlertThresholds",
    "Severity",
    "build_sinks",
    "log_sink",
    "store_sink",
)
