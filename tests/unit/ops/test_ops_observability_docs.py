"""docs/observability.md and the Grafana dashboard name only metrics the daemon exports, and all of them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tradebot.domain.state import TradingState
from tradebot.ops.breakers import BreakerState
from tradebot.ops.metrics import METRICS, PROCESS_METRICS, Metrics

DOCS = Path(__file__).resolve().parents[3] / "docs"
NAME = re.compile(r"\b((?:tradebot|process|python)_[a-z_]+)\b")


@pytest.fixture(scope="module")
def exported() -> set[str]:
    """Every sample name a Metrics object exports once each of its metrics has a value."""
    m = Metrics()
    m.count_bar("MES", datetime(2026, 3, 2, tzinfo=UTC))
    m.count_intent("MES", "X")
    m.count_order("MES", "sent")
    m.count_fill("MES", "BUY")
    m.count_reject("MES")
    m.count_alert("ALERT_HALT", "CRITICAL")
    m.count_notification("sent")
    m.observe_decision_latency(0.001)
    m.set_trading_state(TradingState.HALTED)
    m.set_breakers({"quotes": BreakerState.OPEN})
    m.set_equity(Decimal(1), "USD")
    m.set_pnl("MES", "USD", Decimal(1), Decimal(1), Decimal(1))
    m.set_position("MES", Decimal(1), "contracts")
    return {s.name for f in text_string_to_metric_families(m.render().decode()) for s in f.samples}


def _exprs(panels: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for panel in panels:
        out += [t["expr"] for t in panel.get("targets", [])]
        out += _exprs(panel.get("panels", []))  # rows
    return out


def test_every_documented_metric_is_exported_and_listed(exported: set[str]) -> None:
    for spec in METRICS:
        sample = spec.name + ("_count" if spec.type == "histogram" else "")
        assert sample in exported, spec.name
    assert set(PROCESS_METRICS) <= exported


def test_the_docs_table_matches_the_metrics(exported: set[str]) -> None:
    text = (DOCS / "observability.md").read_text()
    rows = {
        m.group(1): (m.group(2), m.group(3))
        for m in re.finditer(r"^\| `(tradebot_[a-z_]+)` \| (\w+) \| ([^|]*) \|", text, re.M)
    }
    for spec in METRICS:
        assert spec.name in rows, f"{spec.name} is not in docs/observability.md"
        kind, labels = rows[spec.name]
        assert kind == spec.type, spec.name
        assert re.findall(r"`(\w+)`", labels) == list(spec.labels), spec.name
    assert set(rows) == {spec.name for spec in METRICS}
    named = set(NAME.findall(text))
    hist = {f"{s.name}_{suffix}" for s in METRICS for suffix in ("bucket", "sum", "count")}
    unknown = named - exported - hist - {spec.name for spec in METRICS}
    assert not unknown, f"docs name metrics that are not exported: {unknown}"


def test_the_dashboard_queries_only_exported_metrics_and_shows_each(exported: set[str]) -> None:
    dashboard = json.loads((DOCS / "grafana" / "tradebot.json").read_text())
    exprs = _exprs(dashboard["panels"])
    assert exprs
    used = {name for expr in exprs for name in NAME.findall(expr)}
    assert used <= exported, f"panels query metrics that do not exist: {used - exported}"
    shown = {spec.name for spec in METRICS if any(name.startswith(spec.name) for name in used)}
    assert shown == {spec.name for spec in METRICS}, {spec.name for spec in METRICS} - shown
