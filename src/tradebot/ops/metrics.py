"""Prometheus metrics on a private registry, served on loopback only, and only when enabled.

Metrics are an edge, never a gate: the pipeline pushes facts here and nothing here is read back into a
decision. Latencies come from a monotonic timer started when a bar (or an external intent) reaches the
engine; no wall-clock time ever flows from here into the pipeline.

Every metric is listed with its type, labels and meaning in ``METRICS`` (and in docs/observability.md,
which a test keeps in step with this list). Money is in the account currency, named by the ``currency``
label; positions are in the instrument's own unit (contracts, shares or coins), named by ``unit``.
"""

from __future__ import annotations

import ipaddress
import platform
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar, cast
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    generate_latest,
    start_http_server,
)
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from tradebot import __version__
from tradebot.domain.instruments import AssetClass
from tradebot.domain.state import TradingState
from tradebot.ops.breakers import DEPENDENCIES, BreakerLevel, BreakerState

M = TypeVar("M", bound=MetricWrapperBase)
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
POSITION_UNITS: Mapping[AssetClass, str] = {
    AssetClass.FUTURE: "contracts",
    AssetClass.EQUITY: "shares",
    AssetClass.PERPETUAL: "coins",
}


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One exported sample family: its name as scraped, its type, its labels and what it means."""

    name: str
    type: str
    labels: tuple[str, ...]
    help: str


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "tradebot_build_info", "gauge", ("version", "python"), "Build: the tradebot version (value 1)"
    ),
    MetricSpec("tradebot_bars_total", "counter", ("symbol",), "Bars that reached the decision engine"),
    MetricSpec(
        "tradebot_last_bar_timestamp_seconds",
        "gauge",
        ("symbol",),
        "Close time of the newest bar (Unix seconds, bar time)",
    ),
    MetricSpec(
        "tradebot_intents_total",
        "counter",
        ("symbol", "outcome"),
        "Order intents decided by the gates (outcome approved or blocked)",
    ),
    MetricSpec(
        "tradebot_reason_codes_total",
        "counter",
        ("code", "stage"),
        "Reason codes of blocked decisions (stage gates)",
    ),
    MetricSpec(
        "tradebot_orders_total",
        "counter",
        ("symbol", "outcome"),
        "Order submissions (outcome sent, failed, unknown, refused)",
    ),
    MetricSpec("tradebot_fills_total", "counter", ("symbol", "side"), "Fills applied to the portfolio"),
    MetricSpec("tradebot_rejects_total", "counter", ("symbol",), "Orders rejected by the venue"),
    MetricSpec("tradebot_alerts_total", "counter", ("code", "severity"), "Alerts raised"),
    MetricSpec(
        "tradebot_notifications_total",
        "counter",
        ("outcome",),
        "Alert notifications (outcome sent, failed, suppressed by the per-code rate limit)",
    ),
    MetricSpec(
        "tradebot_decision_latency_seconds",
        "histogram",
        ("stage",),
        "Bar (or external intent) received to decision made (stage decision) or order submitted "
        "(stage submit), monotonic seconds",
    ),
    MetricSpec(
        "tradebot_trading_state",
        "stateset",
        ("tradebot_trading_state",),
        "Trading state (1 for the current one of ACTIVE, REDUCING, HALTED)",
    ),
    MetricSpec(
        "tradebot_breaker_state",
        "gauge",
        ("dependency",),
        "Dependency breaker state (0 closed, 1 half-open, 2 open)",
    ),
    MetricSpec(
        "tradebot_equity_account_currency",
        "gauge",
        ("currency",),
        "Account equity: starting cash + realized PnL - fees + unrealized PnL",
    ),
    MetricSpec(
        "tradebot_pnl_account_currency",
        "gauge",
        ("symbol", "kind", "currency"),
        "PnL per symbol (kind realized, unrealized, fees)",
    ),
    MetricSpec(
        "tradebot_position_units",
        "gauge",
        ("symbol", "unit"),
        "Signed position in the instrument's unit (contracts, shares, coins)",
    ),
)
"""Our own metrics. ``process_*`` and ``python_info`` come from prometheus_client's collectors too."""

PROCESS_METRICS: tuple[str, ...] = (
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "process_open_fds",
    "python_info",
)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}  # labels() is slow: once per series
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.build = Info("tradebot_build", "Build: the tradebot version", registry=r)
        self.build.info({"version": __version__, "python": platform.python_version()})
        self.bars = Counter("tradebot_bars", "Bars that reached the decision engine", ["symbol"], registry=r)
        self.last_bar = Gauge(
            "tradebot_last_bar_timestamp_seconds",
            "Close time of the newest bar (Unix seconds, bar time)",
            ["symbol"],
            registry=r,
        )
        self.intents = Counter(
            "tradebot_intents", "Order intents decided by the gates", ["symbol", "outcome"], registry=r
        )
        self.reason_codes = Counter(
            "tradebot_reason_codes",
            "Reason codes of blocked decisions",
            ["code", "stage"],
            registry=r,
        )
        self.orders = Counter("tradebot_orders", "Order submissions", ["symbol", "outcome"], registry=r)
        self.fills = Counter("tradebot_fills", "Fills applied", ["symbol", "side"], registry=r)
        self.rejects = Counter("tradebot_rejects", "Orders rejected by the venue", ["symbol"], registry=r)
        self.alerts = Counter("tradebot_alerts", "Alerts raised", ["code", "severity"], registry=r)
        self.notifications = Counter("tradebot_notifications", "Alert notifications", ["outcome"], registry=r)
        self.trading_state = Enum(
            "tradebot_trading_state", "Trading state", states=[s.value for s in TradingState], registry=r
        )
        self.breaker_state = Gauge(
            "tradebot_breaker_state",
            "Dependency breaker state (0 closed, 1 half-open, 2 open)",
            ["dependency"],
            registry=r,
        )
        for dependency in DEPENDENCIES:  # every breaker is there from the start, closed
            self._of(self.breaker_state, dependency).set(BreakerLevel.CLOSED.value)
        self.decision_latency = Histogram(
            "tradebot_decision_latency_seconds",
            "Bar received to decision made / order submitted (monotonic)",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.equity = Gauge("tradebot_equity_account_currency", "Account equity", ["currency"], registry=r)
        self.pnl = Gauge(
            "tradebot_pnl_account_currency", "PnL per symbol", ["symbol", "kind", "currency"], registry=r
        )
        self.position = Gauge("tradebot_position_units", "Signed position", ["symbol", "unit"], registry=r)

    def _of(self, metric: M, *values: str) -> M:
        """``metric.labels(*values)``, looked up once per series (values in the declared label order)."""
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return cast(M, child)

    # --- counters ---------------------------------------------------------------------------------
    def count_bar(self, symbol: str, bar_end: datetime) -> None:
        self._of(self.bars, symbol).inc()
        self._of(self.last_bar, symbol).set(bar_end.timestamp())

    def count_intent(self, symbol: str, blocked_code: str | None, stage: str = "gates") -> None:
        self._of(self.intents, symbol, "blocked" if blocked_code else "approved").inc()
        if blocked_code:
            self.count_reason(blocked_code, stage)

    def count_reason(self, code: str, stage: str = "") -> None:
        self._of(self.reason_codes, code, stage).inc()

    def count_order(self, symbol: str, outcome: str) -> None:
        self._of(self.orders, symbol, outcome).inc()

    def count_fill(self, symbol: str, side: str) -> None:
        self._of(self.fills, symbol, side).inc()

    def count_reject(self, symbol: str) -> None:
        self._of(self.rejects, symbol).inc()

    def count_alert(self, code: str, severity: str) -> None:
        self._of(self.alerts, code, severity).inc()

    def count_notification(self, outcome: str) -> None:
        self._of(self.notifications, outcome).inc()

    # --- gauges -----------------------------------------------------------------------------------
    def set_trading_state(self, state: TradingState) -> None:
        self.trading_state.state(state.value)

    def set_position(self, symbol: str, qty: Decimal | float, unit: str) -> None:
        self._of(self.position, symbol, unit).set(float(qty))

    def set_pnl(
        self, symbol: str, currency: str, realized: Decimal, unrealized: Decimal, fees: Decimal
    ) -> None:
        for kind, value in (("realized", realized), ("unrealized", unrealized), ("fees", fees)):
            self._of(self.pnl, symbol, kind, currency).set(float(value))

    def set_equity(self, equity: Decimal | float, currency: str) -> None:
        self._of(self.equity, currency).set(float(equity))

    def set_breakers(self, states: Mapping[str, BreakerState]) -> None:
        for dep, state in states.items():
            self._of(self.breaker_state, dep).set(BreakerLevel[state.value].value)

    def observe_decision_latency(self, seconds: float, stage: str = "decision") -> None:
        self._of(self.decision_latency, stage).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class LatencyTimer:
    """A monotonic stopwatch started when an input reaches the engine (metrics only, never a decision)."""

    __slots__ = ("_started",)

    def __init__(self) -> None:
        self._started: float | None = None

    def start(self) -> None:
        self._started = time.monotonic()

    def elapsed(self) -> float | None:
        return None if self._started is None else time.monotonic() - self._started


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
