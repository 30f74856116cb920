"""``tradebot report`` on the bundled ES week replayed with orders flowing (the busy workload, symbol MES):
with the week's real quote bars every spread figure is measured against quotes, without them every one is
a named proxy, and the report's figures are recomputed here straight from the store's events."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from e2e_helpers import REPO, SAMPLE, run_env, tradebot, weeks_of

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.config import write_busy_config

QUOTES = REPO.parent / "shared" / "data" / "es_esz13_1m_quotes_2013-10-06_2013-10-11.csv"
needs_quotes = pytest.mark.skipif(not QUOTES.exists(), reason=f"the shared quote file is missing: {QUOTES}")


def mes_config(directory: Path) -> Path:
    """The busy workload (every gate runs, limits that let orders flow) on symbol MES."""
    toml = write_busy_config(directory)
    text = toml.read_text().replace('symbol = "BENCH"', 'symbol = "MES"')
    toml.write_text(text.replace("[instruments.BENCH]", "[instruments.MES]"))
    return toml


def replay(directory: Path, data: Path = SAMPLE, *extra: str) -> Path:
    store = directory / "es.db"
    config = mes_config(directory)
    result = tradebot(
        "replay", "--data", str(data), "--out", str(store), "--config", str(config), "-q", *extra,
        env=run_env(directory / "run"),
    )
    assert result.returncode == 0, result.stderr
    return store


@pytest.fixture(scope="module")
def es_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return replay(tmp_path_factory.mktemp("es-report"))


@pytest.fixture(scope="module")
def es_quoted_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same week replayed with its real quote bars: the run writes each order's TCA against them."""
    return replay(tmp_path_factory.mktemp("es-quoted"), SAMPLE, "--quotes", f"MES={QUOTES}")


def report_json(store: Path, *args: str) -> dict[str, Any]:
    result = tradebot("report", "--store", str(store), "--json", *args)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@needs_quotes
def test_with_the_real_quotes_every_spread_is_measured(es_store: Path) -> None:
    data = report_json(es_store, "--quotes", f"MES={QUOTES}")
    filled = [r for r in data["tca"] if r["fills"]]
    assert len(filled) > 100
    assert {r["spread_source"] for r in filled} == {"quotes"}
    assert {r["spread_model"] for r in filled} == {f"quotes:{QUOTES.name}"}
    entries = [r for r in filled if r["role"] == "entry"]
    assert entries and all(r["benchmark"] == "quote_mid" and r["arrival_bid"] for r in entries)
    assert data["costs"]["spread_source"] == "quotes"
    everything = data["execution"]["all"]
    for key in ("is_bps", "spread_paid_bps"):
        p50, p90, p99 = (everything[key][p] for p in ("p50", "p90", "p99"))
        assert p50 is not None and p50 <= p90 <= p99
    assert everything["spread_sources"] == {"quotes": len(filled)}


@needs_quotes
def test_the_run_writes_each_orders_tca_record_in_the_store(es_quoted_store: Path) -> None:
    """``order_tca`` events keyed by client order id: every order ends with one whose figures equal what the
    report recomputes from the store with the same quotes; a partial or pending record comes before it."""
    from tradebot.store import StoreReader

    latest: dict[str, dict[str, Any]] = {}
    with StoreReader(es_quoted_store) as reader:
        kinds = reader.count_by_kind()
        for event in reader.iter_events(kinds=["order_tca"]):
            assert event.client_order_id == event.body["client_order_id"]
            latest[event.body["client_order_id"]] = event.body
    data = report_json(es_quoted_store, "--quotes", f"MES={QUOTES}")
    recomputed = {r["client_order_id"]: r for r in data["tca"]}
    assert kinds["order_submit"] > 50
    assert {cid: r for cid, r in recomputed.items() if cid in latest} == latest
    # without a record: only the bracket legs still resting at the end (no fill, not pending: a resting exit)
    resting = [r for cid, r in recomputed.items() if cid not in latest]
    assert len(resting) <= 2
    assert all(r["status"] == "WORKING" and r["role"] in ("stop", "target") for r in resting)
    filled = [r for r in latest.values() if r["fills"]]
    assert {r["spread_source"] for r in filled} == {"quotes"}
    assert all(not r["pending"] for r in latest.values() if r["status"] != "WORKING")


def test_without_quotes_every_spread_figure_is_a_named_proxy(es_store: Path) -> None:
    data = report_json(es_store)
    assert data["tca_source"] == "run"
    filled = [r for r in data["tca"] if r["fills"]]
    assert filled and {r["spread_source"] for r in filled} == {"proxy"}
    assert {r["spread_model"] for r in filled} == {"corwin_schultz(high-low of the last 2 bars)"}
    assert {r["benchmark"] for r in filled} <= {"bar_close", "stop_level", "target_level"}
    assert data["costs"]["spread_source"] == "proxy"
    assert data["execution"]["all"]["spread_sources"] == {"proxy": len(filled)}
    fixed = report_json(es_store, "--proxy-bps", "2")
    assert {r["spread_paid_bps"] for r in fixed["tca"] if r["fills"]} == {"1"}  # half of 2 bps
    text = tradebot("report", "--store", str(es_store))
    assert text.returncode == 0, text.stderr
    assert "PROXY (corwin_schultz" in text.stdout
    assert "E-" not in text.stdout and "E+" not in text.stdout  # money is fixed point


def _quote_mids(path: Path) -> list[tuple[datetime, Decimal]]:
    """(time known, mid) of each quote bar with both sides: a bar's close is known one minute after its ts."""
    mids = []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["bid_close"] and row["ask_close"]:
                known = datetime.fromisoformat(row["ts"].replace("Z", "+00:00")) + timedelta(minutes=1)
                mids.append((known, (Decimal(row["bid_close"]) + Decimal(row["ask_close"])) / 2))
    return mids


@needs_quotes
@pytest.mark.parametrize("source", ["recomputed by the report", "written by the run"])
def test_figures_recomputed_by_hand_from_the_store(
    source: str, es_store: Path, request: pytest.FixtureRequest
) -> None:
    """The same figures whether the report recomputes the TCA with ``--quotes`` or shows the records the
    run wrote with ``replay --quotes``."""
    from tradebot.store import StoreReader

    if source == "written by the run":
        es_store = request.getfixturevalue("es_quoted_store")
        data = report_json(es_store)
        assert data["tca_source"] == "run" and data["quotes"] == {"MES": QUOTES.name}
    else:
        data = report_json(es_store, "--quotes", f"MES={QUOTES}")
        assert data["tca_source"] == "recomputed"
    mids = _quote_mids(QUOTES)
    decisions: dict[str, datetime] = {}
    submits: dict[str, dict[str, Any]] = {}
    fills: dict[str, list[dict[str, Any]]] = {}
    fees = Decimal(0)
    with StoreReader(es_store) as reader:
        multiplier = Decimal(reader.first_event("run_start").body["instruments"][0]["multiplier"])  # type: ignore[union-attr]
        for event in reader.iter_events(kinds=["decision", "order_submit", "order_filled"]):
            if event.kind == "decision":
                decisions[event.body["intent"]["intent_id"]] = event.ts
            elif event.kind == "order_submit":
                submits[event.body["client_order_id"]] = event.body
            else:
                fills.setdefault(event.body["client_order_id"], []).append(event.body)
                fees += Decimal(event.body["fee"])
    # implementation shortfall of every submitted order: arrival = mid of the last quote bar closed at the
    # decision; IS = s·(VWAP − mid)·Q·M + fees over mid·Q·M, in bps
    expected: dict[str, Decimal] = {}
    for cid, body in submits.items():
        if cid not in fills:
            continue
        at = decisions[body["intent_id"]]
        mid = [m for known, m in mids if known <= at][-1]
        qty = sum(Decimal(f["quantity"]) for f in fills[cid])
        vwap = sum(Decimal(f["quantity"]) * Decimal(f["price"]) for f in fills[cid]) / qty
        fee = sum(Decimal(f["fee"]) for f in fills[cid])
        sign = 1 if body["side"] == "BUY" else -1
        cost = sign * (vwap - mid) * qty * multiplier + fee
        expected[cid] = (cost / (mid * qty * multiplier) * 10_000).quantize(Decimal("0.0001"))
    got = {r["client_order_id"]: Decimal(r["is_bps"]) for r in data["tca"] if r["client_order_id"] in submits}
    assert got == expected and len(got) == len(submits)
    # the entry/exit orders' percentiles are numpy's linear percentiles of these values
    by_role = data["execution"]["by"]["role"]
    entry_values = [float(v) for cid, v in expected.items()
                    if next(r for r in data["tca"] if r["client_order_id"] == cid)["role"] == "entry"]
    assert by_role["entry"]["is_bps"]["p50"] == round(float(np.percentile(entry_values, 50)), 4)
    assert by_role["entry"]["is_bps"]["p90"] == round(float(np.percentile(entry_values, 90)), 4)
    # fees, realized PnL and net PnL agree with the store's own summary (`tradebot status`)
    assert Decimal(data["costs"]["fees"]) == fees
    status = tradebot("status", "--store", str(es_store)).stdout
    pnl_line = next(line for line in status.splitlines() if line.startswith("pnl:"))
    realized = Decimal(pnl_line.split("realized ")[1].split()[0])
    net = Decimal(pnl_line.split("net ")[1].split()[0])
    assert Decimal(data["performance"]["pnl_gross"]) == realized  # every trade but the open one is closed
    assert Decimal(data["performance"]["net_pnl"]) == net
    with StoreReader(es_store) as reader:
        assert data["performance"]["trades"] == reader.count_by_kind()["trade_closed"]
    nets = [Decimal(t["pnl_net"]) for t in data["trades"]]
    assert Decimal(data["performance"]["expectancy"]) == (sum(nets) / len(nets)).quantize(Decimal("1e-8"))
    assert data["performance"]["win_rate"] == round(sum(1 for n in nets if n > 0) / len(nets), 6)


def test_a_window_and_the_csv_files(es_store: Path, tmp_path: Path) -> None:
    data = report_json(es_store, "--from", "2013-10-09", "--to", "2013-10-09", "--csv", str(tmp_path))
    assert data["window"] == {"start": "2013-10-09T00:00:00+00:00", "end": "2013-10-10T00:00:00+00:00"}
    assert data["trades"] and all(t["exit_time"].startswith("2013-10-09") for t in data["trades"])
    assert list(data["execution"]["trades_per_day"]) == ["2013-10-09"]
    rows = list(csv.DictReader((tmp_path / "tca.csv").open()))
    assert {r["client_order_id"] for r in rows} == {r["client_order_id"] for r in data["tca"]}
    assert (tmp_path / "execution.csv").read_text().startswith("group,value,orders")


def test_repeated_replays_give_the_same_report(tmp_path: Path) -> None:
    first, second = report_json(replay(tmp_path / "one")), report_json(replay(tmp_path / "two"))
    first.pop("store"), second.pop("store")
    assert first == second


def test_a_report_while_the_run_is_writing(tmp_path: Path) -> None:
    data = weeks_of(SAMPLE, 3, tmp_path / "three_weeks.csv")
    store = tmp_path / "live.db"
    run = subprocess.Popen(
        [sys.executable, "-m", "tradebot.cli", "replay", "--data", str(data), "--out", str(store),
         "--config", str(mes_config(tmp_path / "cfg")), "-q"],
        cwd=REPO, env=run_env(tmp_path / "run"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not store.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)
        assert run.poll() is None, "the replay ended before the report could read it while running"
        during = tradebot("report", "--store", str(store), "--json")
        assert during.returncode == 0, during.stderr
        assert json.loads(during.stdout)["performance"]["start_equity"] == "100000"
    finally:
        _, err = run.communicate(timeout=240)
    assert run.returncode == 0, err


@pytest.mark.parametrize(("args", "message"), [
    (["--store", "{missing}"], "no event store at"),
    (["--store", "{text}"], "not an SQLite database"),
    (["--store", "{store}", "--quotes", "MES"], "write SYMBOL=FILE"),
    (["--store", "{store}", "--quotes", "MES={missing}"], "quotes file"),
    (["--store", "{store}", "--quotes", "ES={text}"], "line 1 has no time column (ts)"),
    (["--store", "{store}", "--from", "yesterday"], "--from 'yesterday' is neither a date"),
    (["--store", "{store}", "--arrival", "later"], "--arrival must be decision or submit"),
])
def test_bad_input_is_one_clear_line_and_exit_2(
    es_store: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a store\n")
    values = {"missing": str(tmp_path / "nope.db"), "text": str(text), "store": str(es_store)}
    result = tradebot("report", *(a.format(**values) for a in args))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


# --- the HTML report in a real browser (Debian's chromium driven by chromedriver) ---------------------------
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="Debian's chromium and chromium-driver are not installed "
    "(apt-get install -y chromium chromium-driver; .ci/run installs them)",
)


def _pixels(png: bytes) -> list[bytes]:
    """The RGB(A) rows of an 8-bit non-interlaced PNG (what Chromium's screenshots are), unfiltered."""
    import struct
    import zlib

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        chunk = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return rows


@needs_chromium
@needs_quotes
def test_the_html_report_renders_in_headless_chromium(es_store: Path, tmp_path: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tradebot.analytics.html import FIGURES, format_figure, lookup

    page = tmp_path / "report.html"
    data = report_json(es_store, "--quotes", f"MES={QUOTES}", "--html", str(page))
    html = page.read_text()
    assert "<script src" not in html and "<link" not in html  # nothing to fetch: the JS is inlined
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600",
                     "--host-resolver-rules=MAP * ~NOTFOUND"):  # no network: a fetch would fail and log
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        driver.get(page.as_uri())
        charts = ["chart-equity", "chart-price-MES", "chart-is", "chart-blocked", "chart-pnl-symbol",
                  "chart-pnl-sleeve", "chart-returns"]
        tearsheet = ["chart-monthly", "chart-rolling-sharpe"]
        WebDriverWait(driver, 60).until(lambda d: all(
            d.find_elements(By.CSS_SELECTOR, f"#{chart} svg.main-svg") for chart in charts + tearsheet))
        for chart in charts:  # every chart drew its data: plotted paths, not only an empty frame
            assert driver.execute_script(
                f"return document.querySelectorAll('#{chart} g.trace path').length") > 0, chart
        # the monthly heatmap is an image layer with one labelled cell (the week is in one month)
        cells = "return document.querySelectorAll('#chart-monthly g.hm image').length"
        assert driver.execute_script(cells) == 1
        month = f"{data['performance']['monthly_returns']['2013-10'] * 100:.2f}%"
        assert month in driver.find_element(By.ID, "chart-monthly").text
        # five trading days are fewer than the rolling window: the chart says so instead of drawing a line
        assert "needs 20 days of returns" in driver.find_element(By.ID, "chart-rolling-sharpe").text
        errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
        assert errors == []
        shown = {cell.get_attribute("data-key"): cell.text
                 for cell in driver.find_elements(By.CSS_SELECTOR, "#figures td[data-key]")}
        expected = {key: format_figure(lookup(data, key), kind) for _, key, kind in FIGURES}
        assert shown == expected
        assert driver.find_element(By.ID, "verdict").text == data["verdict"]
        rows = _pixels(driver.get_screenshot_as_png())
    finally:
        driver.quit()
    colors = {row[i:i + 3] for row in rows[::8] for i in range(0, len(row), 4 * 8)}
    assert len(colors) > 20  # not a blank page: text, tables and coloured chart lines
