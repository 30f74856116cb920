"""The whole daemon (`tradebot run`) on the Binance plugin, against the local fake venue, on real perp data.

The fake runs in this test process on 127.0.0.1:0; the daemon runs as a subprocess with a config whose
``[data] source = "broker"`` takes bars from the plugin's kline websocket and ``clock = "bar"`` judges them
at their own (2020 / 2022) time. The test pushes the real bars one at a time through the fake's kline
stream and waits, after each, until the daemon has recorded the bar and the store has caught up with the
venue (every venue trade recorded as a fill, nothing moving), so a live run sees fills in the order a
real minute-by-minute session would.

- observe: bars from the plugin's feed, orders to the simulated venue: no order reaches the fake.
- live: bars from the plugin's feed and orders to the plugin → the fake (our client order ids, bracket
  legs on the Algo API, OCO emulated by the plugin).

Both end flat through exits (brackets, the strategy) and the constitution's ``flatten_at`` deadline,
which lies a few bars before the end of each slice; the store's position then equals the venue's.
``--max-bars N-1`` with N bars pushed: intake stops when bar N arrives, so bar N is the terminator and
is not traded on.
"""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from binance_fake_server import FakeBinance, FakeVenueController

from tradebot.domain.bars import Bar
from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(120)

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"  # CI checks ../shared out beside the clone
CONSTITUTION = TESTS / "data" / "perp_constitution.yaml"
KEY, SECRET = "pipeline-key", "pipeline-secret"
SETTLE_S = 0.04  # the store and the venue must both stand still this long after a bar


@dataclass(frozen=True)
class Slice:
    symbol: str
    path: Path
    tick: str
    lot: str
    min_notional: str
    stop_ticks: int
    target_ticks: int
    flattens: bool  # a position is still open at the constitution's flatten_at (see perp_constitution.yaml)


BTC = Slice(
    "BTCUSDT",
    SHARED_DATA / "btcusdt_perp_binance_1m_from_tardis_trades_2020-02-22.csv",  # LGPL-3.0 source: not copied
    tick="0.1",
    lot="0.001",
    min_notional="100",
    stop_ticks=30,  # 3 USDT: BTC on a quiet weekend night moves a few dollars a minute
    target_ticks=60,
    flattens=False,  # the last trade closes on its stop before 02:02Z
)
ADA = Slice(
    "ADAUSDT",
    TESTS / "data" / "adausdt_perp_binance_1m_2022-12-13T1120_1439.csv",  # Apache-2.0 (Lean): a copy
    tick="0.0001",
    lot="1",
    min_notional="5",
    stop_ticks=15,
    target_ticks=30,
    flattens=True,  # the 13:50Z long is still open at 14:10Z
)


def read_bars(s: Slice) -> list[Bar]:
    if not s.path.exists():
        pytest.skip(f"real data {s.path.name} not found in {s.path.parent} (../shared beside the repo)")
    with s.path.open() as fh:
        return [
            Bar(
                s.symbol,
                datetime.fromisoformat(row["ts"].replace("Z", "+00:00")),
                float(row["open"]),
                float(row["high"]),
                float(row["low"]),
                float(row["close"]),
                float(row["volume"]),
                60,
            )
            for row in csv.DictReader(fh)
        ]


def write_config(
    tmp: Path, s: Slice, mode: str, fake: FakeBinance, sizer: str = "fixed_fraction", leverage: int = 5
) -> Path:
    urls = fake.urls()
    text = f"""
[run]
mode = "{mode}"

[data]
source = "broker"
symbol = "{s.symbol}"
bar_size_s = 60
clock = "bar"

[instruments.{s.symbol}]
venue = "BINANCE_USDM"
asset_class = "PERPETUAL"
currency = "USDT"
tick_size = "{s.tick}"
lot_step = "{s.lot}"
min_qty = "{s.lot}"
min_notional = "{s.min_notional}"
calendar = "24/7"

[strategy]
profile = "aggressive"
sizer = "{sizer}"
ai_mode = "live"
basis = "notional"
fraction = "0.02"
stop_ticks = {s.stop_ticks}
target_ticks = {s.target_ticks}

[gates]
constitution = "{CONSTITUTION}"

[portfolio]
starting_cash = "10000"

[broker]
name = "binance"
environment = "paper"

[broker.binance]
environment = "testnet"
api_key_env = "TB_TEST_BINANCE_KEY"
api_secret_env = "TB_TEST_BINANCE_SECRET"
api_url = "{urls["api_url"]}"
futures_url = "{urls["futures_url"]}"
stream_url = "{urls["stream_url"]}"
symbols = ["{s.symbol}"]
leverage = {leverage}
reconnect_wait_s = 10.0
"""
    path = tmp / f"{mode}.toml"
    path.write_text(text)
    return path


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    store: Path
    seconds: float


class Daemon:
    """``tradebot run`` as a subprocess, fed bar by bar through the fake."""

    def __init__(
        self, tmp: Path, mode: str, config: Path, fake: FakeBinance, max_bars: int, symbols: tuple[str, ...]
    ) -> None:
        self.tmp, self.mode, self.fake, self.symbols = tmp, mode, fake, symbols
        self.store = tmp / f"{mode}.db"
        self.out, self.err = tmp / f"{mode}.out", tmp / f"{mode}.err"
        self.args = [
            sys.executable, "-m", "tradebot.cli", "run", "--mode", mode, "--config", str(config),
            "--store", str(self.store), "--max-bars", str(max_bars),
        ]  # fmt: skip
        self.env = {
            **os.environ,
            "TRADEBOT_RUN__RUN_DIR": str(tmp / f"run-{mode}"),
            "TB_TEST_BINANCE_KEY": KEY,
            "TB_TEST_BINANCE_SECRET": SECRET,
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.reader: StoreReader | None = None

    async def start(self) -> None:
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = await asyncio.create_subprocess_exec(
                *self.args, cwd=self.tmp, env=self.env, stdout=out, stderr=err
            )
        klines = [f"{symbol.lower()}@kline_1m" for symbol in self.symbols]  # not only its book tickers
        subscribed = self.fake.subscribed
        await self._until(lambda: all(map(subscribed, klines)), 30, "the daemon subscribing to klines")
        if self.mode == "live":
            await self._until(lambda: self.fake.user_subscribers() > 0, 10, "the user-data stream")
        self.reader = StoreReader(self.store)

    def _log_tail(self) -> str:
        return self.err.read_text()[-3000:] if self.err.exists() else ""

    async def _until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert self.proc is not None
            if self.proc.returncode is not None:
                raise AssertionError(
                    f"daemon exited {self.proc.returncode} waiting for {what}:\n{self._log_tail()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self._log_tail()}")
            await asyncio.sleep(0.005)

    def _last_bar_ts(self) -> str | None:
        assert self.reader is not None
        last = self.reader.last_event("bar")
        return None if last is None else str(last.body["ts"])

    def _fills(self) -> int:
        assert self.reader is not None
        return self.reader.count_by_kind().get("order_filled", 0)

    async def settle(self, bar: Bar) -> None:
        """The bar is recorded, every venue trade is in the store as a fill, and nothing moves."""
        want = bar.ts.isoformat()
        await self._until(lambda: self._last_bar_ts() == want, 20, f"bar {want} in the store")
        await self._quiet(f"bar {want}")

    def _bars(self) -> int:
        assert self.reader is not None
        return self.reader.count_by_kind().get("bar", 0)

    async def settle_count(self, bars: int) -> None:
        """``bars`` bars recorded (several instruments), then as ``settle``."""
        await self._until(lambda: self._bars() >= bars, 20, f"{bars} bars in the store")
        await self._quiet(f"{bars} bars")

    async def _quiet(self, want: str) -> None:
        """Every venue trade is in the store as a fill, and nothing moves."""
        assert self.reader is not None
        previous = None
        deadline = time.monotonic() + 20
        while True:
            state = (self.reader.max_seq(), len(self.fake.requests), len(self.fake.trades))
            caught_up = self.mode == "observe" or self._fills() == len(self.fake.trades)
            if state == previous and caught_up:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"store never caught up with the venue after {want}:\n{self._log_tail()}"
                )
            previous = state
            await asyncio.sleep(SETTLE_S)

    async def finish(self, timeout: float = 30) -> Run:
        assert self.proc is not None
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(f"daemon did not exit after the last bar:\n{self._log_tail()}") from None
        finally:
            self._close_reader()
        assert self.proc.returncode is not None
        return Run(self.proc.returncode, self.out.read_text(), self.err.read_text(), self.store, 0.0)

    def _close_reader(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self._close_reader()


ADA_QUOTES = SHARED_DATA / "adausdt_perp_binance_1m_quotes_2022-12-13.csv"  # Binance quote bars


def read_quotes(path: Path) -> dict[datetime, tuple[str, str]]:
    """Each quote bar's closing (bid, ask), by the bar's open time."""
    with path.open() as fh:
        return {
            datetime.fromisoformat(row["ts"].replace("Z", "+00:00")): (row["bid_close"], row["ask_close"])
            for row in csv.DictReader(fh)
            if row["bid_close"] and row["ask_close"]
        }


async def replay(
    tmp: Path, s: Slice, mode: str, quotes: dict[datetime, tuple[str, str]] | None = None, **config: Any
) -> tuple[Run, FakeBinance, list[Bar]]:
    """Run the daemon over the slice through a fresh fake; returns the run, the fake and the bars. With
    ``quotes``, each bar's closing best bid/ask goes out on the bookTicker stream (stamped at the bar's
    close) just before the bar itself."""
    bars = read_bars(s)
    fake = await FakeBinance(KEY, SECRET).start()
    started = time.monotonic()
    daemon = Daemon(tmp, mode, write_config(tmp, s, mode, fake, **config), fake, len(bars) - 1, (s.symbol,))
    try:
        await daemon.start()
        venue = FakeVenueController(fake)
        async def quote_of(bar: Bar) -> None:
            if quotes is not None and bar.ts in quotes:
                bid, ask = quotes[bar.ts]
                await fake.push_book_ticker(s.symbol, bid, ask, ts_ms=int(bar.end.timestamp() * 1000))

        if quotes is not None:
            ticker = f"{s.symbol.lower()}@bookTicker"
            await daemon._until(lambda: fake.subscribed(ticker), 30, "the daemon subscribing to quotes")
        await quote_of(bars[0])
        for i, bar in enumerate(bars[:-1]):
            await venue.push_bar(bar)
            await daemon.settle(bar)
            # the next bar's quote, on its own socket, a whole settle ahead of that bar (a quote stamped at
            # its close is not used before it: the book answers with quotes known at an instant)
            await quote_of(bars[i + 1])
        await venue.push_bar(bars[-1])  # the terminator: intake stops on it (--max-bars N-1)
        run = await daemon.finish()
    finally:
        await daemon.kill()
        await fake.stop()
    run.seconds = time.monotonic() - started
    print(f"{s.symbol} {mode}: {len(bars) - 1} bars in {run.seconds:.1f}s")
    return run, fake, bars


def events(store: Path, *kinds: str) -> list[dict[str, Any]]:
    with StoreReader(store) as reader:
        return [e.body for e in reader.iter_events(kinds=list(kinds))]


def store_position(store: Path, symbol: str) -> Decimal:
    total = Decimal(0)
    for fill in events(store, "order_filled"):
        if fill["symbol"] == symbol:
            sign = 1 if fill["side"] == "BUY" else -1
            total += sign * Decimal(str(fill["quantity"]))
    return total


def summary_position(summary: str, symbol: str) -> Decimal:
    """The symbol's position on the run summary's ``positions:`` line (0 when it says none)."""
    (line,) = [ln for ln in summary.splitlines() if ln.startswith("positions:")]
    fields = line.removeprefix("positions:").replace(",", " ").split()
    if fields == ["none"]:
        return Decimal(0)
    return Decimal(dict(zip(fields[::2], fields[1::2], strict=True))[symbol])


def assert_bars_recorded(run: Run, bars: list[Bar]) -> None:
    recorded = events(run.store, "bar")
    traded = bars[:-1]
    assert [r["ts"] for r in recorded] == [b.ts.isoformat() for b in traded], (
        "bars missing, doubled or reordered"
    )
    assert [(r["open"], r["high"], r["low"], r["close"]) for r in recorded] == [
        (b.open, b.high, b.low, b.close) for b in traded
    ]


def flatten_orders(run: Run, symbol: str) -> list[str]:
    """Client order ids of the approved flatten-deadline orders (reduce-only market, source FLATTEN)."""
    return [
        str(d["order"]["client_order_id"])
        for d in events(run.store, "decision")
        if d["intent"]["source"] == "flatten" and d["order"] and d["order"]["symbol"] == symbol
    ]


def assert_clean_exit(run: Run) -> None:
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr[-3000:]}"
    states = events(run.store, "trading_state")
    assert not any(s.get("to") == "HALTED" for s in states), states


@pytest.mark.parametrize("s", [BTC, ADA], ids=["BTCUSDT", "ADAUSDT"])
async def test_observe_mode_trades_on_the_sim_from_the_binance_feed(tmp_path: Path, s: Slice) -> None:
    run, fake, bars = await replay(tmp_path, s, "observe")
    assert_clean_exit(run)
    assert_bars_recorded(run, bars)

    # the strategy traded on the simulated venue: orders, fills, round trips
    submits = events(run.store, "order_submit")
    fills = events(run.store, "order_filled")
    assert submits and fills and events(run.store, "trade_closed"), run.stdout
    assert all(f.get("simulated") for f in fills)
    flattened = flatten_orders(run, s.symbol)
    assert bool(flattened) == s.flattens, flattened
    filled = {f["client_order_id"] for f in fills}
    assert all(cid in filled for cid in flattened)

    # no order reached the fake: it only served the feed (and the plugin's account set-up reads/writes)
    assert fake.orders == {} and fake.algos == {} and fake.trades == []
    assert not [r for r in fake.requests if r[1] in ("/fapi/v1/order", "/fapi/v1/algoOrder")]

    # ends flat, agreeing with the venue (which never held anything)
    venue = FakeVenueController(fake)
    assert store_position(run.store, s.symbol) == 0
    assert await venue.venue_positions() == [] and await venue.venue_open_orders() == []
    assert summary_position(run.stdout, s.symbol) == 0, run.stdout


@pytest.mark.parametrize("s", [BTC, ADA], ids=["BTCUSDT", "ADAUSDT"])
async def test_live_mode_trades_at_the_fake_and_ends_flat_with_it(tmp_path: Path, s: Slice) -> None:
    run, fake, bars = await replay(tmp_path, s, "live")
    assert_clean_exit(run)
    assert_bars_recorded(run, bars)
    venue = FakeVenueController(fake)

    # every order the OMS sent is at the venue under our client order id; entries carry SL/TP algo legs
    submits = events(run.store, "order_submit")
    assert submits, run.stdout
    at_venue = {o.client_id: o for o in fake.orders.values()}
    algos = {a.client_id: a for a in fake.algos.values()}
    entries = [b for b in submits if not b.get("reduce_only")]
    assert entries
    for sub in submits:
        assert sub["client_order_id"] in at_venue, f"{sub['client_order_id']} never reached the venue"
    flattened = flatten_orders(run, s.symbol)
    assert bool(flattened) == s.flattens, flattened
    for cid in flattened:  # the deadline's reduce-only market order went to the venue and filled there
        order = at_venue[cid]
        assert (order.type, order.reduce_only, order.status) == ("MARKET", True, "FILLED")
    for entry in entries:
        cid = str(entry["client_order_id"])
        sl, tp = algos[f"{cid}-sl"], algos[f"{cid}-tp"]
        assert (sl.order_type, tp.order_type) == ("STOP_MARKET", "TAKE_PROFIT_MARKET")
        assert sl.reduce_only and tp.reduce_only
        # OCO: never both legs executed; once one triggered the other was canceled (both: flattened)
        statuses = {sl.status, tp.status}
        assert statuses in ({"CANCELED"}, {"FINISHED", "CANCELED"}), (cid, sl.status, tp.status)
    triggered = [a for a in fake.algos.values() if a.status == "FINISHED"]
    assert triggered, "no bracket leg ever filled: the OCO path was not exercised"
    canceled_in_store = {b["client_order_id"] for b in events(run.store, "order_canceled")}
    for leg in triggered:
        (sibling,) = [
            a for a in fake.algos.values() if a is not leg and a.client_id[:-3] == leg.client_id[:-3]
        ]
        assert sibling.status == "CANCELED"
    assert {a.client_id for a in fake.algos.values() if a.status == "CANCELED"} <= canceled_in_store

    # every venue trade is in the store exactly once, with the venue's trade id, and nothing else is
    fills = events(run.store, "order_filled")
    assert Counter(str(f["fill_id"]) for f in fills) == Counter(str(t["id"]) for t in fake.trades)
    assert not any(f.get("simulated") for f in fills)
    assert events(run.store, "trade_closed")

    # the end: flat at the venue and in the store, nothing left working
    assert store_position(run.store, s.symbol) == 0
    assert summary_position(run.stdout, s.symbol) == 0, run.stdout
    assert await venue.venue_positions() == []
    assert await venue.venue_open_orders() == []
    assert fake.positions.get(s.symbol) is None or fake.positions[s.symbol].qty == 0
    assert fake.leverage.get(s.symbol) == 5  # set per symbol at connect, inside the governor's 1x..5x

    # `tradebot status` re-derives the same summary from the store alone
    status = subprocess.run(
        [sys.executable, "-m", "tradebot.cli", "status", "--store", str(run.store)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # the same summary; the run goes on with where its log, manifest and report went
    assert status.returncode == 0 and run.stdout.startswith(status.stdout), (status.stdout, status.stderr)


async def test_live_ai_sizer_leverage_reaches_the_venue_through_the_governor(tmp_path: Path) -> None:
    # the plugin sets 1x at connect; the AI sizer proposes 5x..80x by confidence; the governor clamps it
    # to the constitution's 5x; the plugin applies that per order (set_leverage before the entry)
    run, fake, _ = await replay(tmp_path, ADA, "live", sizer="ai", leverage=1)
    assert_clean_exit(run)
    entries = [b for b in events(run.store, "order_submit") if not b["reduce_only"]]
    assert entries
    assert {str(b["leverage"]) for b in entries} == {"5"}, [b["leverage"] for b in entries]
    clamps = [
        v
        for d in events(run.store, "decision")
        for v in d["verdicts"]
        if v["gate"] == "governor" and v["code"] == "GOVERNOR_CLAMP_LEVERAGE"
    ]
    assert clamps
    assert fake.leverage["ADAUSDT"] == 5


@pytest.mark.skipif(not ADA_QUOTES.exists(), reason=f"the shared quote file is missing: {ADA_QUOTES}")
async def test_observe_tca_measures_spread_against_the_binance_quote_stream(tmp_path: Path) -> None:
    """The plugin's bookTicker stream (QuoteStream) is the TCA's quote source on its feed: each order's
    record in the store has the real Binance bid/ask of its minute at arrival, and a spread measured
    against it, not a proxy."""
    quotes = read_quotes(ADA_QUOTES)
    run, _, _ = await replay(tmp_path, ADA, "observe", quotes=quotes)
    assert_clean_exit(run)
    records: dict[str, dict[str, Any]] = {}
    for record in events(run.store, "order_tca"):
        records[record["client_order_id"]] = record  # the latest record of each order
    decided = {d["order"]["client_order_id"]: d for d in events(run.store, "decision") if d.get("order")}
    filled = [r for r in records.values() if r["fills"]]
    assert filled and {r["spread_source"] for r in filled} == {"quotes"}
    assert {r["spread_model"] for r in filled} == {"quotes:binance:live"}
    entries = [r for r in filled if r["role"] in ("entry", "signal", "flatten")]
    assert entries
    for record in entries:  # arrival: the quote bar closing at the decision, exactly
        decided_at = datetime.fromisoformat(decided[record["client_order_id"]]["intent"]["ts"])
        assert record["arrival_time"] == decided_at.isoformat()
        bid, ask = quotes[decided_at - timedelta(minutes=1)]
        assert (record["arrival_bid"], record["arrival_ask"]) == (bid, ask)
        assert record["benchmark"] == "quote_mid"
        mid = (Decimal(bid) + Decimal(ask)) / 2
        assert Decimal(record["arrival_price"]) == mid


# --- two instruments through one broker ---------------------------------------------------------------
BTC_SHIFT = datetime.fromisoformat("2022-12-13T11:20Z") - datetime.fromisoformat("2020-02-22T00:00Z")


def two_instrument_config(tmp: Path, mode: str, fake: FakeBinance) -> Path:
    """Both perps on the broker's feed (``[data.feeds.X]`` without files) and one constitution whose BTC
    flatten deadline moved with its bars (02:02Z + the shift = 13:22Z)."""
    constitution = tmp / "two_constitution.yaml"
    constitution.write_text(CONSTITUTION.read_text().replace('flatten_at: "02:02"', 'flatten_at: "13:22"'))
    single = write_config(tmp, ADA, mode, fake).read_text()
    feeds = "[data.feeds.BTCUSDT]\n\n[data.feeds.ADAUSDT]\n\n"
    text = single.replace("[instruments.ADAUSDT]", feeds + "[instruments.ADAUSDT]")
    text = text.replace(f'constitution = "{CONSTITUTION}"', f'constitution = "{constitution}"')
    text = text.replace('symbols = ["ADAUSDT"]', 'symbols = ["BTCUSDT", "ADAUSDT"]')
    text = text.replace(
        "[strategy]",
        f"""[instruments.BTCUSDT]
venue = "BINANCE_USDM"
asset_class = "PERPETUAL"
currency = "USDT"
tick_size = "{BTC.tick}"
lot_step = "{BTC.lot}"
min_qty = "{BTC.lot}"
min_notional = "{BTC.min_notional}"
calendar = "24/7"

[strategy]""",
    )
    path = tmp / f"two-{mode}.toml"
    path.write_text(text)
    return path


async def two_instruments(tmp: Path, mode: str) -> tuple[Run, FakeBinance, list[Bar]]:
    """BTCUSDT (2020-02-22, its times moved onto 2022-12-13 11:20Z: real prices, shifted clock) and ADAUSDT
    (2022-12-13 11:20Z) pushed minute by minute through one fake, both bars of a minute before the daemon
    is waited for. The last ADA bar is the terminator."""
    btc = [replace(b, ts=b.ts + BTC_SHIFT) for b in read_bars(BTC)]
    ada = read_bars(ADA)
    bars = sorted(btc + ada, key=lambda b: (b.ts, b.symbol))
    fake = await FakeBinance(KEY, SECRET).start()
    config = two_instrument_config(tmp, mode, fake)
    daemon = Daemon(tmp, mode, config, fake, len(bars) - 1, (BTC.symbol, ADA.symbol))
    try:
        await daemon.start()
        venue = FakeVenueController(fake)
        by_minute: dict[datetime, list[Bar]] = {}
        for bar in bars[:-1]:
            by_minute.setdefault(bar.ts, []).append(bar)
        pushed = 0
        for minute_bars in by_minute.values():
            for bar in minute_bars:
                await venue.push_bar(bar)
            pushed += len(minute_bars)
            await daemon.settle_count(pushed)
        await venue.push_bar(bars[-1])
        run = await daemon.finish()
    finally:
        await daemon.kill()
        await fake.stop()
    return run, fake, bars


@pytest.mark.parametrize("mode", ["observe", "live"])
async def test_two_instruments_on_one_broker_feed(tmp_path: Path, mode: str) -> None:
    run, fake, bars = await two_instruments(tmp_path, mode)
    assert_clean_exit(run)
    recorded = events(run.store, "bar")
    for symbol in ("BTCUSDT", "ADAUSDT"):  # each instrument's bars, in order, none lost or doubled
        want = [b.ts.isoformat() for b in bars[:-1] if b.symbol == symbol]
        assert [r["ts"] for r in recorded if r["symbol"] == symbol] == want, symbol
    submits = events(run.store, "order_submit")
    assert {s["symbol"] for s in submits} == {"BTCUSDT", "ADAUSDT"}, "both instruments traded"
    fills = events(run.store, "order_filled")
    venue = FakeVenueController(fake)
    if mode == "live":
        at_venue = {o.client_id for o in fake.orders.values()}
        assert {s["client_order_id"] for s in submits} <= at_venue
        assert Counter(str(f["fill_id"]) for f in fills) == Counter(str(t["id"]) for t in fake.trades)
        assert {t["symbol"] for t in fake.trades} == {"BTCUSDT", "ADAUSDT"}
    else:
        assert fake.orders == {} and all(f.get("simulated") for f in fills)
    for s in (BTC, ADA):  # each ends flat by its own exits or deadline; store and venue agree
        symbol = s.symbol
        assert bool(flatten_orders(run, symbol)) == s.flattens, symbol
        assert store_position(run.store, symbol) == 0
        assert summary_position(run.stdout, symbol) == 0
    assert await venue.venue_positions() == [] and await venue.venue_open_orders() == []
