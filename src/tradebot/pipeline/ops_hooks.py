"""The ops layer as seen from the decision stage: breakers, alerts, metrics (issue 6).

One object so the engine has one thing to call; every method is cheap and never raises into trading
(alerts and metrics are best-effort sinks; breakers are pure state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tradebot.domain.errors import ErrorClass
from tradebot.domain.state import TradingState
from tradebot.ops.alerts import AlertDispatcher, AlertRules
from tradebot.ops.breakers import BreakerBoard, BreakerDecision, BreakerTransition
from tradebot.ops.metrics import Metrics

SUBMIT = "broker_submit"


@dataclass(slots=True)
class OpsHooks:
    breakers: BreakerBoard = field(default_factory=BreakerBoard)
    rules: AlertRules = field(default_factory=AlertRules)
    dispatcher: AlertDispatcher = field(default_factory=AlertDispatcher)
    metrics: Metrics | None = None

    def allow_submit(self, now: datetime) -> BreakerDecision:
        return self.breakers.allow(SUBMIT, now)

    def submit_succeeded(self, now: datetime) -> None:
        self._breaker(self.breakers.record_success(SUBMIT, now))

    def submit_failed(self, now: datetime, error: ErrorClass | None) -> None:
        self._breaker(self.breakers.record_failure(SUBMIT, now, error))
        if error is not None:
            self.dispatcher.emit(self.rules.on_error(now, error))

    def _breaker(self, transition: BreakerTransition | None) -> None:
        if transition is not None:
            self.dispatcher.emit(self.rules.on_breaker_transition(transition))

    def on_reject(self, now: datetime, client_order_id: str, symbol: str, reason: str) -> None:
        self.dispatcher.emit(self.rules.on_reject(now, client_order_id, symbol, reason))

    def on_state(self, now: datetime, state: TradingState, code: str, details: Mapping[str, Any]) -> None:
        if state is TradingState.HALTED:
            self.dispatcher.emit(self.rules.on_halt(now, code, details))
        if self.metrics is not None:
            self.metrics.set_trading_state(state)

    def on_mismatch(self, now: datetime, details: Mapping[str, Any]) -> None:
        self.dispatcher.emit(self.rules.on_reconciliation_mismatch(now, details))

    def on_decision(self, code: str | None) -> None:
        if self.metrics is not None and code:
            self.metrics.count_reason(code, "gates")
