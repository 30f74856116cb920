"""The ops hooks keep the metrics alive: breaker transitions, alerts, bars, decisions and latency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tradebot.domain.bars import Bar
from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.ops.alerts import AlertDispatcher
from tradebot.ops.metrics import Metrics
from tradebot.pipeline.ops_hooks import OpsHooks
from tradebot.pipeline.portfolio import Portfolio

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
MES = Instrument(
    symbol="MES",
    venue="CME",
    asset_class=AssetClass.FUTURE,
    currency="USD",
    tick_size=Decimal("0.25"),
    lot_step=Decimal(1),
    min_qty=Decimal(1),
    multiplier=Decimal(5),
)


def sample(metrics: Metrics, name: str, labels: dict[str, str] | None = None) -> float | None:
    return metrics.registry.get_sample_value(name, labels or {})


def test_a_breaker_that_opens_moves_its_gauge_and_counts_the_alert() -> None:
    metrics = Metrics()
    hooks = OpsHooks(dispatcher=AlertDispatcher(), metrics=metrics)
    assert sample(metrics, "tradebot_breaker_state", {"dependency": "broker_submit"}) == 0
    for i in range(3):
        hooks.submit_failed(T0 + timedelta(seconds=i), None)
    assert sample(metrics, "tradebot_breaker_state", {"dependency": "broker_submit"}) == 2
    labels = {"code": "ALERT_BREAKER_OPEN", "severity": "CRITICAL"}
    assert sample(metrics, "tradebot_alerts_total", labels) == 1


def test_bars_decisions_submits_and_the_portfolio_reach_the_metrics() -> None:
    metrics = Metrics()
    hooks = OpsHooks(dispatcher=AlertDispatcher(), metrics=metrics)
    bar = Bar("MES", T0, 5000.0, 5001.0, 4999.0, 5000.5, 10.0, 60)
    hooks.on_bar(bar, "24/7", T0 + timedelta(seconds=60))
    hooks.on_decision("TRADES_PER_DAY_BLOCK", "MES")
    hooks.on_decision(None, "MES")
    hooks.on_submitted("MES", "SENT")
    hooks.on_fill("MES", "BUY")
    hooks.on_reject(T0, "cid-1", "MES", "margin")
    portfolio = Portfolio(Decimal(10_000), {"MES": MES})
    portfolio.mark("MES", Decimal("5000.5"))
    hooks.on_portfolio(portfolio, "MES")
    assert sample(metrics, "tradebot_bars_total", {"symbol": "MES"}) == 1
    assert sample(metrics, "tradebot_last_bar_timestamp_seconds", {"symbol": "MES"}) == bar.end.timestamp()
    assert sample(metrics, "tradebot_intents_total", {"symbol": "MES", "outcome": "blocked"}) == 1
    assert sample(metrics, "tradebot_intents_total", {"symbol": "MES", "outcome": "approved"}) == 1
    assert (
        sample(metrics, "tradebot_reason_codes_total", {"code": "TRADES_PER_DAY_BLOCK", "stage": "gates"})
        == 1
    )
    assert sample(metrics, "tradebot_orders_total", {"symbol": "MES", "outcome": "sent"}) == 1
    assert sample(metrics, "tradebot_fills_total", {"symbol": "MES", "side": "BUY"}) == 1
    assert sample(metrics, "tradebot_rejects_total", {"symbol": "MES"}) == 1
    assert sample(metrics, "tradebot_decision_latency_seconds_count", {"stage": "decision"}) == 2
    assert sample(metrics, "tradebot_decision_latency_seconds_count", {"stage": "submit"}) == 1
    assert sample(metrics, "tradebot_equity_account_currency", {"currency": "USD"}) == 10_000
    assert sample(metrics, "tradebot_position_units", {"symbol": "MES", "unit": "contracts"}) == 0


def test_without_metrics_the_hooks_do_nothing_and_never_time() -> None:
    hooks = OpsHooks(dispatcher=AlertDispatcher())
    hooks.on_bar(Bar("MES", T0, 1.0, 1.0, 1.0, 1.0, 1.0, 60), "24/7", T0 + timedelta(seconds=60))
    hooks.on_decision(None, "MES")
    assert hooks._latency.elapsed() is None  # no timer is started when metrics are off
