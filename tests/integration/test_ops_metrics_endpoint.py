"""The metrics endpoint serves our registry on loopback."""

from __future__ import annotations

import urllib.request

import pytest

from tradebot.domain.state import TradingState
from tradebot.ops.metrics import Metrics, maybe_start_metrics_server

pytestmark = pytest.mark.timeout(30)


def test_metrics_endpoint_serves_counters_on_loopback() -> None:
    metrics = Metrics()
    metrics.count_reason("CANARY_SYMBOL_BLOCK", "gates")
    metrics.set_trading_state(TradingState.REDUCING)
    server = maybe_start_metrics_server(metrics, enabled=True, port=0)
    assert server is not None
    try:
        assert server.server.server_address[0] == "127.0.0.1" and server.port > 0
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as response:
            text = response.read().decode()
        assert 'tradebot_reason_codes_total{code="CANARY_SYMBOL_BLOCK",stage="gates"} 1.0' in text
        assert 'tradebot_trading_state{tradebot_trading_state="REDUCING"} 1.0' in text
    finally:
        server.close()
