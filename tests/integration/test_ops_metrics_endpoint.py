"""The metrics endpoint during a real replay of the bundled ES week: scraped over HTTP while the pipeline
runs, every documented metric is there and moves; alerts of the run reach a local endpoint through apprise
as readable text. The only thing injected is one venue reject, through the simulated venue's own fault
API (nothing else in a clean replay makes a venue refuse a valid order)."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tradebot.domain.state import TradingState
from tradebot.ops.metrics import METRICS, PROCESS_METRICS, Metrics, maybe_start_metrics_server
from tradebot.pipeline import session as session_module
from tradebot.pipeline.app import RunOptions
from tradebot.settings import load_settings

pytestmark = pytest.mark.timeout(240)
REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"
# the one metric whose only value in a clean run is its default: every breaker stays closed (0); that a
# transition moves it is shown by tests/unit/ops/test_ops_metrics_wiring.py
DEFAULT_IN_A_CLEAN_RUN = {"tradebot_breaker_state"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Samples = dict[str, list[tuple[dict[str, str], float]]]


def _parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


def _sample_name(spec_name: str, spec_type: str) -> str:
    return spec_name + "_count" if spec_type == "histogram" else spec_name


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0")))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], bodies
    server.shutdown()
    server.server_close()


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


async def test_a_scrape_during_a_replay_shows_every_metric_alive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: tuple[int, list[dict[str, Any]]]
) -> None:
    hook_port, notifications = receiver
    port = _free_port()
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("TRADEBOT_RUN__RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("TRADEBOT_OPS__METRICS__ENABLED", "true")
    monkeypatch.setenv("TRADEBOT_OPS__METRICS__PORT", str(port))
    monkeypatch.setenv("TRADEBOT_OPS__ALERTS__NOTIFY_URLS", json.dumps([f"json://127.0.0.1:{hook_port}/n"]))
    settings = load_settings()
    real_build_broker = session_module._build_broker

    scrapes: list[Samples] = []
    one_at_a_time = threading.Lock()  # two scrapers (this thread, the loop's): kept in the order served

    def scrape() -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with one_at_a_time:
            try:
                with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                    scrapes.append(_parse(response.read().decode()))
            except (urllib.error.URLError, OSError):
                pass  # not serving yet, or served no more

    def build_broker_rejecting_the_third_order(*args: Any) -> Any:
        broker = real_build_broker(*args)
        venue, submits = broker.venue, itertools.count(1)
        real_submit, real_on_bar = venue.submit, venue.on_bar

        def submit(request: Any) -> None:
            if next(submits) == 3:  # after some fills: a first reject would hold entries off all week
                venue.reject_next("margin check failed (injected)")  # the real venue's fault API
            real_submit(request)

        def on_bar(bar: Any) -> None:
            # a position is held for a few bars only: scrape then too (from the pipeline's own thread,
            # the server answers from its thread), so the scrape surely sees one
            if any(p.quantity != 0 for p in venue.snapshot_positions()):
                scrape()
            real_on_bar(bar)

        venue.submit, venue.on_bar = submit, on_bar
        return broker

    monkeypatch.setattr(session_module, "_build_broker", build_broker_rejecting_the_third_order)
    options = RunOptions(mode="replay", data=SAMPLE, store=tmp_path / "replay.db", quiet=True)

    done = threading.Event()

    def scrape_until_done() -> None:
        while not done.is_set():
            scrape()
            time.sleep(0.05)

    scraper = threading.Thread(target=scrape_until_done, daemon=True)
    scraper.start()
    try:
        await session_module.run_session(settings, options)
    finally:
        done.set()
        await asyncio.to_thread(scraper.join, 10)

    assert len(scrapes) >= 3, "the endpoint was scraped during the run"
    with pytest.raises(urllib.error.URLError):  # the run closed its endpoint when it ended
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            f"http://127.0.0.1:{port}/metrics", timeout=2
        )
    last = scrapes[-1]
    bars = [
        v for s in scrapes for labels, v in s.get("tradebot_bars_total", []) if labels == {"symbol": "MES"}
    ]
    assert bars == sorted(bars) and bars[0] < bars[-1], "the bar count moved while it was scraped"

    missing = [s.name for s in METRICS if _sample_name(s.name, s.type) not in last]
    missing += [name for name in PROCESS_METRICS if name not in last]
    assert not missing, f"not exported: {missing}"
    never_moved = [
        spec.name
        for spec in METRICS
        if spec.name not in DEFAULT_IN_A_CLEAN_RUN
        and not any(v != 0 for s in scrapes for _, v in s.get(_sample_name(spec.name, spec.type), []))
    ]
    assert not never_moved, f"never left their default during the run: {never_moved}"

    def value(name: str, **labels: str) -> float:
        return sum(v for lab, v in last[name] if all(lab.get(k) == x for k, x in labels.items()))

    assert value("tradebot_rejects_total", symbol="MES") == 1
    assert value("tradebot_fills_total", symbol="MES") >= 2
    assert value("tradebot_orders_total", symbol="MES", outcome="sent") >= 1
    assert value("tradebot_intents_total", symbol="MES", outcome="blocked") > 0
    assert value("tradebot_decision_latency_seconds_count", stage="decision") > 0
    assert value("tradebot_decision_latency_seconds_count", stage="submit") >= 1
    assert value("tradebot_alerts_total", code="ALERT_STALE_DATA", severity="WARNING") >= 1
    assert value("tradebot_last_bar_timestamp_seconds", symbol="MES") >= 1381100000  # October 2013
    assert value("tradebot_equity_account_currency", currency="USD") > 9000
    assert value("tradebot_pnl_account_currency", symbol="MES", kind="fees", currency="USD") > 0
    assert {lab["dependency"] for lab, _ in last["tradebot_breaker_state"]} >= {"broker_submit", "calendar"}
    assert value("tradebot_trading_state", tradebot_trading_state="ACTIVE") == 1
    assert value("tradebot_notifications_total", outcome="sent") >= 1
    titles = [body["title"] for body in notifications]
    assert (
        "Stale data on MES: the next bar is 15 min late; last bar closed 2013-10-07 20:15 UTC " in titles[0]
    )
