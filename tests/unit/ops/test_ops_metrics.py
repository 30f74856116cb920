"""Metrics on a private registry; the server binds loopback only (the endpoint test is in integration)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradebot.domain.state import TradingState
from tradebot.ops.breakers import BreakerState
from tradebot.ops.metrics import Metrics, maybe_start_metrics_server, start_metrics_server


def test_metrics_render_counters_gauges_and_histogram() -> None:
    m = Metrics()
    m.count_reason("CIRCUIT_OPEN_QUOTES", "oms")
    m.count_reason("CIRCUIT_OPEN_QUOTES", "oms")
    m.count_alert("ALERT_HALT", "CRITICAL")
    m.set_trading_state(TradingState.HALTED)
    m.set_position("MES", Decimal("-2"), "contracts")
    m.set_pnl("MES", "USD", Decimal("12.5"), Decimal("-3"), Decimal("1.24"))
    m.set_breakers({"quotes": BreakerState.OPEN, "broker_submit": BreakerState.CLOSED})
    m.observe_decision_latency(0.003)
    m.observe_decision_latency(0.004, "submit")
    text = m.render().decode()
    assert 'tradebot_reason_codes_total{code="CIRCUIT_OPEN_QUOTES",stage="oms"} 2.0' in text
    assert 'tradebot_alerts_total{code="ALERT_HALT",severity="CRITICAL"} 1.0' in text
    assert 'tradebot_trading_state{tradebot_trading_state="HALTED"} 1.0' in text
    assert 'tradebot_position_units{symbol="MES",unit="contracts"} -2.0' in text
    assert 'tradebot_pnl_account_currency{currency="USD",kind="realized",symbol="MES"} 12.5' in text
    assert 'tradebot_pnl_account_currency{currency="USD",kind="fees",symbol="MES"} 1.24' in text
    assert 'tradebot_breaker_state{dependency="quotes"} 2.0' in text
    assert 'tradebot_breaker_state{dependency="calendar"} 0.0' in text  # every breaker from the start
    assert 'tradebot_decision_latency_seconds_count{stage="decision"} 1.0' in text
    assert 'tradebot_decision_latency_seconds_count{stage="submit"} 1.0' in text
    assert 'tradebot_build_info{python="' in text and "process_cpu_seconds_total" in text


def test_two_metrics_objects_do_not_share_a_registry() -> None:
    a, b = Metrics(), Metrics()
    a.count_reason("X")
    assert 'code="X"' in a.render().decode()
    assert 'code="X"' not in b.render().decode()


def test_server_refuses_non_loopback_and_is_off_unless_enabled() -> None:
    with pytest.raises(ValueError, match="loopback"):
        start_metrics_server(Metrics(), 0, host="0.0.0.0")
    assert maybe_start_metrics_server(Metrics(), enabled=False, port=0) is None
