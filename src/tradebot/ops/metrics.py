"""Prometheus metrics on a private registry, served on loopback only, and only when enabled.

Metrics (prefix ``tradebot_``): ``reason_codes_total{code,stage}``, ``alerts_total{code,severity}``,
``trading_state{tradebot_trading_state=ACTIVE|REDUCING|HALTED}`` (an Enum), ``position{symbol}``,
``pnl{kind=realized|unrealized}``, ``equity``, ``breaker_state{dependency}`` (0 closed, 1 half-open,
2 open), ``decision_latency_seconds`` (histogram: bar received -> decision recorded).
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

from tradebot.domain.state import TradingState
from tradebot.ops.breakers import BreakerLevel, BreakerState

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.reason_codes = Counter(
            "tradebot_reason_codes",
            "Reason codes emitted (blocks, clamps, halts, alerts...)",
            ["code", "stage"],
            registry=r,
        )
        self.alerts = Counter("tradebot_alerts", "Alerts raised", ["code", "severity"], registry=r)
        self.trading_state = Enum(
            "tradebot_trading_state", "Trading state", states=[s.value for s in TradingState], registry=r
        )
        self.position = Gauge("tradebot_position", "Signed position quantity", ["symbol"], registry=r)
        self.pnl = Gauge("tradebot_pnl", "PnL in account currency", ["kind"], registry=r)
        self.equity = Gauge("tradebot_equity", "Account equity", registry=r)
        self.breaker_state = Gauge(
            "tradebot_breaker_state",
            "Dependency breaker state (0 closed, 1 half-open, 2 open)",
            ["dependency"],
            registry=r,
        )
        self.decision_latency = Histogram(
            "tradebot_decision_latency_seconds",
            "Bar received to decision recorded",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def count_reason(self, code: str, stage: str = "") -> None:
        self.reason_codes.labels(code=code, stage=stage).inc()

    def count_alert(self, code: str, severity: str) -> None:
        self.alerts.labels(code=code, severity=severity).inc()

    def set_trading_state(self, state: TradingState) -> None:
        self.trading_state.state(state.value)

    def set_position(self, symbol: str, qty: Decimal | float) -> None:
        self.position.labels(symbol=symbol).set(float(qty))

    def set_pnl(self, realized: Decimal | float, unrealized: Decimal | float) -> None:
        self.pnl.labels(kind="realized").set(float(realized))
        self.pnl.labels(kind="unrealized").set(float(unrealized))

    def set_equity(self, equity: Decimal | float) -> None:
        self.equity.set(float(equity))

    def set_breakers(self, states: Mapping[str, BreakerState]) -> None:
        for dep, state in states.items():
            self.breaker_state.labels(dependency=dep).set(BreakerLevel[state.value].value)

    def observe_decision_latency(self, seconds: float) -> None:
        self.decision_latency.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


@dataclass(slots=True)
class MetricsServer:
    server: WSGIServer
    thread: threading.Thread
    host: str
    port: int

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5.0)


def _require_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"metrics.host: must be a loopback address (got {host!r}); metrics are never exposed"
        )


def start_metrics_server(metrics: Metrics, port: int, host: str = "127.0.0.1") -> MetricsServer:
    """Serve ``metrics`` at http://host:port/metrics (port 0: any free port; see ``.port``)."""
    _require_loopback(host)
    if not 0 <= port <= 65535:
        raise ValueError(f"metrics.port: must be 0-65535, got {port}")
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    return MetricsServer(server, thread, host, int(server.server_port))


def maybe_start_metrics_server(
    metrics: Metrics, *, enabled: bool, port: int, host: str = "127.0.0.1"
) -> MetricsServer | None:
    """Metrics are off unless enabled in config."""
    return start_metrics_server(metrics, port, host) if enabled else None
