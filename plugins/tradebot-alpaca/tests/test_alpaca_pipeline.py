"""The whole daemon (`tradebot run`, the real pipeline) against the fake Alpaca, on one real day of SPY.

One regular session of the bundled SPY minute bars (QuantConnect Lean sample data, Apache-2.0; read from
``../shared/data`` beside the repository, the tests skip when it is absent) goes out through the fake's
msgpack bars stream. The daemon runs as a subprocess on the bar clock (``data.clock = "bar"``), so the
session gates judge 2013 bars at their own time. The fake's clock endpoint follows the same bars
(``FakeAlpaca.clock_follows_bars``: its time is the close of the last bar pushed and ``is_open`` is the
XNYS regular session then), so the plugin's own market-hours check agrees with the pipeline's gates.

- observe: bars from the plugin's feed, orders to the simulated venue; nothing reaches the fake.
- live: bars from the plugin's feed and orders through the plugin to the fake, bar by bar (the next bar
  goes out once the daemon has recorded the last one and every order it wrote ahead is at the venue).
  The engine cancels an entry's bracket legs before any exit: the fake, like Alpaca, refuses a sell of
  shares held for the legs ("insufficient qty available").

The slice runs 08:30-16:00 New York (pre-market bars warm the signals up, entries only in regular hours,
tests/alpaca_spy_constitution.yaml) and ``--max-bars`` ends intake there (one more after-hours bar is
pushed for a runner that checks ``--max-bars`` only when the next bar arrives). A position is open at the
constitution's 15:50 flatten deadline on this day: the deadline cancels its legs and flattens it, so the
day ends flat without an operator flatten.

Two instruments through one broker: SPY and QQQ on the plugin's feed (``[data.feeds.X]`` without files),
both symbols' bars of a minute pushed before the daemon is waited for. No QQQ minute data is bundled, so
QQQ's wire carries SPY's real minutes of the next day (8 Oct) moved one day back. Both symbols use the SPY
constitution's limits, whose entry policy allows one position in total: an entry of one symbol is refused
(BLOCK_MAX_POSITIONS) while the other is held or still being entered.
"""

from __future__ import annotations

import asyncio
import csv
import itertools
import os
import re
import sqlite3
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from alpaca_fake_server import KEY, SECRET, FakeAlpaca, FakeAlpacaController

from tradebot.domain.bars import Bar
from tradebot.store import StoreReader

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DATA = REPO.parent / "shared" / "data" / "spy_1m_2013-10-04_2013-10-11.csv"
CONSTITUTION = HERE / "alpaca_spy_constitution.yaml"
DAY = "2013-10-07"  # a Monday; 09:30-16:00 EDT is 13:30-20:00 UTC
SLICE_START = datetime(2013, 10, 7, 12, 30, tzinfo=UTC)  # 08:30 New York
SLICE_END = datetime(2013, 10, 7, 20, 0, tzinfo=UTC)  # the first after-hours bar, 16:00 New York
DEADLINE = datetime(2013, 10, 7, 19, 50, tzinfo=UTC)  # the constitution's flatten_at, 15:50 New York

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(not DATA.exists(), reason=f"bundled data {DATA} not present"),
]


def _day_bars() -> list[Bar]:
    """The slice, and after it one more bar that only makes ``--max-bars`` stop intake."""
    with DATA.open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["ts"].startswith(DAY)]
    bars = [
        Bar("SPY", datetime.fromisoformat(r["ts"].replace("Z", "+00:00")), float(r["open"]), float(r["high"]),
            float(r["low"]), float(r["close"]), float(r["volume"]))
        for r in rows
    ]
    inside = [b for b in bars if SLICE_START <= b.ts <= SLICE_END]
    after = [b for b in bars if b.ts > SLICE_END]
    return [*inside, after[0]]


def _config(tmp_path: Path, fake: FakeAlpaca, mode: str) -> Path:
    table = fake.config(symbols=["SPY"])
    broker_lines = "\n".join(f"{k} = {_toml(v)}" for k, v in table.items())
    path = tmp_path / f"alpaca-{mode}.toml"
    path.write_text(f"""
[run]
mode = "{mode}"

[data]
source = "broker"
symbol = "SPY"
bar_size_s = 60
clock = "bar"

[instruments.SPY]
venue = "alpaca"
asset_class = "EQUITY"
currency = "USD"
tick_size = "0.01"
lot_step = "1"          # whole shares: Alpaca takes brackets for whole shares only
min_qty = "1"
calendar = "XNYS"

[strategy]
profile = "aggressive"
sizer = "fixed_fraction"
fraction = "0.002"
stop_ticks = 15         # 15 cents
target_ticks = 25       # 25 cents

[gates]
constitution = "{CONSTITUTION}"

[portfolio]
starting_cash = "10000"

[broker]
name = "alpaca"
environment = "paper"

[broker.alpaca]
{broker_lines}
""")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value) + '"'


def _count(conn: sqlite3.Connection, kind: str) -> int:
    return int(conn.execute("SELECT count(*) FROM events WHERE kind = ?", (kind,)).fetchone()[0])


def _cids(conn: sqlite3.Connection, kinds: Iterable[str]) -> set[str]:
    marks = ",".join("?" for _ in kinds)
    rows = conn.execute(
        f"SELECT client_order_id FROM events WHERE kind IN ({marks}) AND client_order_id IS NOT NULL",
        tuple(kinds),
    )
    return {r[0] for r in rows}


async def _open_store(store: Path, proc: asyncio.subprocess.Process) -> sqlite3.Connection:
    while not store.exists():
        if proc.returncode is not None:
            raise AssertionError(f"daemon exited {proc.returncode} before opening its store")
        await asyncio.sleep(0.02)
    return sqlite3.connect(f"file:{store}?mode=ro", uri=True)


async def _in_step(
    conn: sqlite3.Connection, fake: FakeAlpaca, bars_done: int, proc: asyncio.subprocess.Process,
    orders_leave: bool = True,
) -> None:
    """Wait until the daemon recorded ``bars_done`` bars and every order it wrote ahead reached the fake
    (or was refused before leaving), so the venue sees the next bar after the orders of this one. In
    observe (``orders_leave`` false) no order leaves: the bars alone are waited for."""
    settled = 0
    while settled < 2:
        if proc.returncode is not None:
            return  # it ended (its last bar, or a failure): the exit code and the store tell which
        await asyncio.sleep(0.01)
        try:
            if _count(conn, "bar") < bars_done:
                settled = 0
                continue
            written = set()
            if orders_leave:
                written = _cids(conn, ["order_submit"]) - _cids(conn, ["order_rejected"])
        except sqlite3.OperationalError:  # the writer holds a lock for a moment
            continue
        at_venue = {o.client_order_id for o in fake.orders.values()}
        settled = settled + 1 if written <= at_venue else 0


async def _run_daemon(
    tmp_path: Path, fake: FakeAlpaca, mode: str, bars: list[Bar], lockstep: bool, config: Path | None = None,
    quotes: Mapping[datetime, tuple[str, str]] | None = None,
) -> tuple[int, str, str, Path]:
    """``tradebot run`` on ``config`` (default: SPY alone) fed ``bars``. In lockstep the bars of a minute
    (one per symbol) go out together, then the daemon is waited for (``_in_step``); the last bar only ends
    intake. With ``quotes`` (SPY's bid/ask by minute) each minute's closing quote goes out just before its
    bar, stamped at the bar's close, on the quote stream the plugin subscribes for the run's TCA."""
    venue = FakeAlpacaController(fake)
    fake.cash = Decimal("10000")
    fake.clock_follows_bars = True
    run_dir = tmp_path / f"run-{mode}"
    store = run_dir / "tradebot.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEBOT_")}
    env.update(TRADEBOT_RUN__RUN_DIR=str(run_dir), FAKE_APCA_KEY=KEY, FAKE_APCA_SECRET=SECRET)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradebot.cli", "run", "--mode", mode, "--config",
        str(config or _config(tmp_path, fake, mode)), "--store", str(store), "--max-bars", str(len(bars) - 1),
        "--quiet",
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        if lockstep:
            symbols = {b.symbol for b in bars}
            def subscribed() -> bool:
                quoted = quotes is None or all(fake.quotes_subscribed(s) for s in symbols)
                return quoted and any(symbols <= s.bars for s in fake.data_sessions)

            async with asyncio.timeout(30):  # the plugin subscribed every symbol's bars (and quotes)
                while not subscribed():
                    if proc.returncode is not None:
                        break
                    await asyncio.sleep(0.02)
            conn = await _open_store(store, proc)
            try:
                by_minute: dict[datetime, list[Bar]] = {}
                for bar in bars[:-1]:
                    by_minute.setdefault(bar.ts, []).append(bar)
                pushed = 0
                for minute in by_minute.values():
                    for bar in minute:
                        if quotes is not None and bar.ts in quotes:
                            bid, ask = quotes[bar.ts]
                            await fake.publish_quote(bar.symbol, Decimal(bid), Decimal(ask), bar.end)
                        await venue.push_bar(bar)
                    pushed += len(minute)
                    await _in_step(conn, fake, pushed, proc, orders_leave=mode == "live")
                await venue.push_bar(bars[-1])
            finally:
                conn.close()
        else:  # held by the fake until the plugin subscribes, then streamed in one go
            for bar in bars:
                await venue.push_bar(bar)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode(), store


def _events(store: Path, *kinds: str) -> list[Any]:
    with StoreReader(store) as reader:
        return list(reader.iter_events(kinds=list(kinds) or None))


def _store_position(store: Path) -> Decimal:
    signed = Decimal(0)
    for event in _events(store, "order_filled"):
        qty = Decimal(event.body["quantity"])
        signed += qty if event.body["side"] == "BUY" else -qty
    return signed


def _position_before(store: Path, when: datetime) -> Decimal:
    signed = Decimal(0)
    for event in _events(store, "order_filled"):
        if event.ts >= when:
            break
        qty = Decimal(event.body["quantity"])
        signed += qty if event.body["side"] == "BUY" else -qty
    return signed


def _check_day(store: Path, bars: list[Bar]) -> dict[str, Any]:
    """What both modes share: every bar of the slice recorded, bracket entries in regular hours, flat."""
    recorded = _events(store, "bar")
    assert [e.body["ts"] for e in recorded] == [b.ts.isoformat() for b in bars[:-1]]
    submits = [e.body for e in _events(store, "order_submit")]
    entries = [s for s in submits if not s["reduce_only"]]
    assert entries, "the strategy placed no order on a full session"
    for entry in entries:
        bracket = entry["bracket"]
        assert bracket is not None and bracket["stop_loss"] and bracket["take_profit"]
        ts = datetime.fromisoformat(entry["ts"])
        assert datetime(2013, 10, 7, 13, 35, tzinfo=UTC) <= ts <= datetime(2013, 10, 7, 19, 45, tzinfo=UTC)
    decisions = [e.body for e in _events(store, "decision")]
    blocked = {d["code"] for d in decisions if d["outcome"] == "BLOCKED"}
    assert "MARKET_CLOSED_BLOCK" in blocked  # pre-market signals were refused by the session gate
    flatten = [s for s in submits if s["intent_id"].startswith("SPY-flatten-")]
    assert [(f["ts"], f["reduce_only"]) for f in flatten] == [(DEADLINE.isoformat(), True)]
    assert _position_before(store, DEADLINE) != 0  # a position was open at 15:50 New York ...
    cancels = [e for e in _events(store, "order_cancel_request") if e.ts == DEADLINE]
    legs = {e.body["client_order_id"] for e in cancels}
    last_entry = entries[-1]["client_order_id"]
    assert {f"{last_entry}-tp", f"{last_entry}-sl"} <= legs  # ... its bracket legs came off first ...
    assert {e.body["code"] for e in cancels} == {"FLATTEN_DEADLINE"}
    assert _store_position(store) == 0  # ... and it was flat from there to the close
    states = [e.body["to_state"] for e in _events(store, "trading_state")]
    assert "HALTED" not in states
    return {"entries": entries, "submits": submits, "decisions": decisions}


async def test_observe_mode_spy_day_through_the_alpaca_feed(tmp_path: Path, fake_alpaca: FakeAlpaca) -> None:
    bars = _day_bars()
    code, out, err, store = await _run_daemon(tmp_path, fake_alpaca, "observe", bars, lockstep=False)
    assert code == 0, f"exit {code}\nstdout:\n{out}\nstderr:\n{err[-4000:]}"
    _check_day(store, bars)
    assert all(e.body.get("simulated") for e in _events(store, "order_filled"))  # the sim venue filled
    assert not fake_alpaca.orders  # observe: no order left the process
    assert not [p for m, p in fake_alpaca.requests if m in ("POST", "DELETE") and p.startswith("/v2/orders")]
    assert re.search(r"^positions: +SPY 0$", out, re.M)



async def test_live_mode_spy_day_orders_brackets_at_the_fake_and_flat(
    tmp_path: Path, fake_alpaca: FakeAlpaca
) -> None:
    bars = _day_bars()
    code, out, err, store = await _run_daemon(tmp_path, fake_alpaca, "live", bars, lockstep=True)
    assert code == 0, f"exit {code}\nstdout:\n{out}\nstderr:\n{err[-4000:]}"
    refused = [e.body for e in _events(store, "order_rejected")]
    assert not refused, f"orders refused: {refused}"
    day = _check_day(store, bars)
    venue = FakeAlpacaController(fake_alpaca)
    fake = fake_alpaca

    # every order the daemon sent is at the fake under our client order id; nothing else is there
    roots = {o.client_order_id: o for o in fake.orders.values() if o.parent_id is None}
    assert set(roots) == {s["client_order_id"] for s in day["submits"]}

    # each bracket entry: both legs placed; at most one filled, and then the other was canceled
    oco_pairs = 0
    for entry in day["entries"]:
        parent = roots[entry["client_order_id"]]
        assert parent.order_class == "bracket" and parent.status == "filled"
        legs = {fake.our_client_id(fake.orders[i]): fake.orders[i] for i in parent.legs}
        cid = entry["client_order_id"]
        assert set(legs) == {f"{cid}-tp", f"{cid}-sl"}
        assert legs[f"{cid}-tp"].limit_price == Decimal(entry["bracket"]["take_profit"])
        assert legs[f"{cid}-sl"].stop_price == Decimal(entry["bracket"]["stop_loss"])
        filled = [c for c, leg in legs.items() if leg.status == "filled"]
        assert len(filled) <= 1
        if filled:
            other = (set(legs) - set(filled)).pop()
            assert legs[other].status == "canceled"
            oco_pairs += 1
    assert oco_pairs >= 1, "no take-profit or stop-loss filled on a whole session"

    # the store saw the venue's truth: the same fills (ids, quantities, prices) and the OCO cancels
    venue_cid = {o.id: fake.our_client_id(o) for o in fake.orders.values()}
    fills_venue = sorted(
        (venue_cid[a["order_id"]], a["id"].split("::")[1], Decimal(a["qty"]), Decimal(a["price"]))
        for a in fake.activities
    )
    fills_store = sorted((e.body["client_order_id"], e.body["fill_id"], Decimal(e.body["quantity"]),
                          Decimal(e.body["price"])) for e in _events(store, "order_filled"))
    assert fills_store == fills_venue
    canceled_venue = {fake.our_client_id(o) for o in fake.orders.values() if o.status == "canceled"}
    assert canceled_venue <= {e.body["client_order_id"] for e in _events(store, "order_canceled")}

    # no orphan exits: an entry's legs were done at the venue before the next entry went in
    at_venue = sorted((roots[e["client_order_id"]] for e in day["entries"]), key=lambda o: o.created_at)
    for earlier, later in itertools.pairwise(at_venue):
        for leg in (fake.orders[i] for i in earlier.legs):
            done = leg.filled_at or leg.canceled_at
            assert done is not None and done <= later.created_at, f"{fake.our_client_id(leg)} still working"

    # the position limit (20 shares) held at the venue all day, fill by fill
    running, worst = Decimal(0), Decimal(0)
    for activity in fake.activities:
        running += Decimal(activity["qty"]) * (1 if activity["side"] == "buy" else -1)
        worst = max(worst, abs(running))
    assert worst <= 20

    # the plugin asked the venue clock (which followed the bars) before every order, and none was refused
    assert len([p for m, p in fake.requests if (m, p) == ("GET", "/v2/clock")]) >= len(roots)

    # flat at the close, at the venue and in the store, with no order left working
    assert await venue.venue_positions() == []
    assert await venue.venue_open_orders() == []
    assert _store_position(store) == 0
    assert re.search(r"^positions: +SPY 0$", out, re.M)


async def test_fake_clock_follows_the_replayed_bars(fake_alpaca: FakeAlpaca) -> None:
    import aiohttp

    venue = FakeAlpacaController(fake_alpaca)
    fake_alpaca.clock_follows_bars = True
    headers = {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}
    seen = []
    async with aiohttp.ClientSession(headers=headers) as http:
        for bar in [b for b in _day_bars() if b.ts.strftime("%H:%M") in ("13:28", "13:29", "19:58", "19:59")]:
            await venue.push_bar(bar)
            async with http.get(f"{fake_alpaca.base_url}/v2/clock") as resp:
                body = await resp.json()
            seen.append((bar.end.strftime("%H:%M"), body["is_open"], body["timestamp"][11:16]))
    # the venue's time is the last bar's close (New York time in the body); open 09:30 up to 16:00
    assert seen == [("13:29", False, "09:29"), ("13:30", True, "09:30"), ("19:59", True, "15:59"),
                    ("20:00", False, "16:00")]


# --- two instruments through one broker ---------------------------------------------------------------
SECOND = "QQQ"
NEXT_DAY = "2013-10-08"


def _two_instrument_bars() -> list[Bar]:
    """SPY's slice of 7 Oct, and QQQ's: no QQQ minute data is bundled, so QQQ's wire carries SPY's real
    minutes of the next day (8 Oct, same New York times) moved one day back. Bars of a minute go out
    SPY first; the terminator is SPY's first after-hours bar."""
    spy = _day_bars()
    with DATA.open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["ts"].startswith(NEXT_DAY)]
    day = timedelta(days=1)
    second = [
        Bar(SECOND, datetime.fromisoformat(r["ts"].replace("Z", "+00:00")) - day, float(r["open"]),
            float(r["high"]), float(r["low"]), float(r["close"]), float(r["volume"]))
        for r in rows
    ]
    second = [b for b in second if SLICE_START <= b.ts <= SLICE_END - timedelta(minutes=1)]
    return [*sorted([*spy[:-1], *second], key=lambda b: (b.ts, b.symbol != "SPY")), spy[-1]]


def _two_instrument_config(tmp_path: Path, fake: FakeAlpaca, mode: str) -> Path:
    """Both symbols on the broker's feed (``[data.feeds.X]`` without a file), each with its own instrument
    table and the SPY constitution's limits; the entry policy's one position in total binds across them."""
    constitution = tmp_path / "two_constitution.yaml"
    spec = yaml.safe_load(CONSTITUTION.read_text())
    spec["instruments"][SECOND] = spec["instruments"]["SPY"]
    constitution.write_text(yaml.safe_dump(spec))
    text = _config(tmp_path, fake, mode).read_text()
    text = text.replace(str(CONSTITUTION), str(constitution))
    text = text.replace('symbols = ["SPY"]', f'symbols = ["SPY", "{SECOND}"]')
    instrument = text[text.index("[instruments.SPY]"):text.index("[strategy]")]
    feeds = f"[data.feeds.SPY]\n\n[data.feeds.{SECOND}]\n\n"
    text = text.replace("[instruments.SPY]", feeds + instrument.replace("SPY", SECOND) + "[instruments.SPY]")
    path = tmp_path / f"alpaca-two-{mode}.toml"
    path.write_text(text)
    return path


@pytest.mark.timeout(300)  # ~15 s alone; generous for a loaded 2-core CI machine
@pytest.mark.parametrize("mode", ["observe", "live"])
async def test_two_instruments_on_one_alpaca_feed(tmp_path: Path, fake_alpaca: FakeAlpaca, mode: str) -> None:
    bars = _two_instrument_bars()
    fake_alpaca.add_asset(SECOND)
    config = _two_instrument_config(tmp_path, fake_alpaca, mode)
    code, out, err, store = await _run_daemon(tmp_path, fake_alpaca, mode, bars, lockstep=True, config=config)
    assert code == 0, f"exit {code}\nstdout:\n{out}\nstderr:\n{err[-4000:]}"
    recorded = _events(store, "bar")
    for symbol in ("SPY", SECOND):  # each symbol's bars, in order, none lost or doubled
        want = [b.ts.isoformat() for b in bars[:-1] if b.symbol == symbol]
        assert [e.body["ts"] for e in recorded if e.body["symbol"] == symbol] == want, symbol
    submits = [e.body for e in _events(store, "order_submit")]
    entries = [s for s in submits if not s["reduce_only"]]
    assert {s["symbol"] for s in entries} == {"SPY", SECOND}, "both symbols entered"
    assert not [e.body for e in _events(store, "order_rejected")]

    # one position in total across both symbols: an entry of one was refused while the other was held
    decisions = [e.body for e in _events(store, "decision")]
    totals = [d for d in decisions if d["outcome"] == "BLOCKED" and d["code"] == "BLOCK_MAX_POSITIONS"]
    assert totals, "the portfolio total never bound"
    held: dict[str, Decimal] = {"SPY": Decimal(0), SECOND: Decimal(0)}
    for event in _events(store, "order_filled"):
        qty = Decimal(event.body["quantity"])
        held[event.body["symbol"]] += qty if event.body["side"] == "BUY" else -qty
        assert sum(1 for q in held.values() if q) <= 1, f"two positions at once at {event.ts}"

    fills = [e.body for e in _events(store, "order_filled")]
    venue = FakeAlpacaController(fake_alpaca)
    if mode == "live":
        at_venue = {fake_alpaca.our_client_id(o) for o in fake_alpaca.orders.values()}
        assert {s["client_order_id"] for s in submits} <= at_venue
        assert {o.symbol for o in fake_alpaca.orders.values()} == {"SPY", SECOND}
        venue_cid = {o.id: fake_alpaca.our_client_id(o) for o in fake_alpaca.orders.values()}
        assert sorted((venue_cid[a["order_id"]], Decimal(a["qty"]), Decimal(a["price"]))
                      for a in fake_alpaca.activities) == sorted(
            (f["client_order_id"], Decimal(f["quantity"]), Decimal(f["price"])) for f in fills)
    else:
        assert not fake_alpaca.orders and all(f.get("simulated") for f in fills)
    for symbol in ("SPY", SECOND):  # each ends flat: in the store, the summary and at the venue
        assert held[symbol] == 0, symbol
        assert re.search(rf"^positions: .*\b{symbol} 0\b", out, re.M), out
    assert await venue.venue_positions() == [] and await venue.venue_open_orders() == []


QUOTES = REPO.parent / "shared" / "data" / "spy_1m_quotes_2013-10-04_2013-10-11.csv"


@pytest.mark.skipif(not QUOTES.exists(), reason=f"bundled data {QUOTES} not present")
async def test_observe_tca_measures_spread_against_the_alpaca_quote_stream(
    tmp_path: Path, fake_alpaca: FakeAlpaca
) -> None:
    """The plugin's quote stream (QuoteStream) is the TCA's quote source on its feed: each order's record in
    the store has SPY's real bid/ask of its minute at arrival and a spread measured against it, not a
    proxy."""
    with QUOTES.open() as fh:
        quotes = {datetime.fromisoformat(r["ts"].replace("Z", "+00:00")): (r["bid_close"], r["ask_close"])
                  for r in csv.DictReader(fh) if r["ts"].startswith(DAY)}
    bars = _day_bars()
    code, out, err, store = await _run_daemon(tmp_path, fake_alpaca, "observe", bars, lockstep=True,
                                              quotes=quotes)
    assert code == 0, f"exit {code}\nstdout:\n{out}\nstderr:\n{err[-4000:]}"
    records: dict[str, dict[str, Any]] = {}
    for event in _events(store, "order_tca"):
        records[event.body["client_order_id"]] = event.body  # the latest record of each order
    filled = [r for r in records.values() if r["fills"]]
    assert filled and {r["spread_source"] for r in filled} == {"quotes"}
    assert {r["spread_model"] for r in filled} == {"quotes:alpaca:live"}
    decisions = [d.body for d in _events(store, "decision")]
    decided = {d["order"]["client_order_id"]: d for d in decisions if d.get("order")}
    entries = [r for r in filled if r["role"] in ("entry", "signal", "flatten")]
    assert entries
    for record in entries:  # arrival: the quote of the minute closing at the decision, exactly
        decided_at = datetime.fromisoformat(decided[record["client_order_id"]]["intent"]["ts"])
        bid, ask = quotes[decided_at - timedelta(minutes=1)]
        assert (record["arrival_bid"], record["arrival_ask"]) == (bid, ask)
        assert record["benchmark"] == "quote_mid"
        assert Decimal(record["arrival_price"]) == (Decimal(bid) + Decimal(ask)) / 2
