"""The whole daemon (`tradebot run`, the real pipeline) against the fake TWS, on the bundled ES week as MES
(and, in the two-instrument test, also as ES).

The fake TWS runs in this test process on 127.0.0.1:0 with ``venue_time="bars"`` (its executions carry
the time of the bars it streams, as they did when 2013 was live); the daemon runs as a subprocess with
``[data] source = "broker"`` (the plugin's 5-second real-time bars, aggregated to 1 minute) and
``clock = "bar"`` (the session gates judge 2013 bars at their own time), the repo's
``config/constitution.yaml`` (MES: entries 09:30-16:00 New York, flatten 15:55, 2 trades a day, 1 lot)
and ``[broker.ibkr]`` pointing at the fake. Each 1-minute bar goes out as twelve 5-second bars.

- observe: bars from the plugin's feed, orders to the simulated venue: no order reaches the fake. The
  week streams unpaced (caught up every 600 bars); the run must equal a replay of the same file (exact
  bars, same decisions, orders and simulated fills).
- live: bars from the plugin's feed, orders through the plugin to the fake. Inside the trading window
  (and whenever the venue holds a position or a working order) the next bar goes out only once the
  daemon has recorded the last one, every order it wrote ahead is at the venue and every venue execution
  is in the store; outside it the daemon is let run ahead and caught up every hour of bars (it cannot
  enter then, and the venue is flat, which the test checks).
- flatten: a position still open at the 15:55 deadline (7 Oct, wider target) is flattened by the
  pipeline's reduce-only market order. IB has no reduce-only flag: the plugin sends a plain MKT, after
  the engine has cancelled the entry's stop/target legs (FLATTEN_DEADLINE cancel requests). With the
  race injected where the stop fills under that cancel, the MKT reverses the position and the next bar's
  flatten closes it (flat one bar later; the extra losing round trip halts MES for the day).
- the pipeline books a fill on its own clock's day (not the venue's stamp), and SIGTERM stops it while
  the feed is quiet.
- two instruments through one broker (observe and live): MES and ES (the full-size E-mini, multiplier 50)
  both on the plugin's feed (``[data.feeds.MES]``, ``[data.feeds.ES]`` without files), each with its own
  ``[instruments.X]`` table, on 8 Oct 2013 09:20-16:14 New York. The ES bars are the bundled file itself:
  it is real ES (ESZ13) data, so fed as ES they are ES's true prices; fed as MES (as everywhere else here)
  they stand in for MES, which tracks the same index. The repo's constitution has no ES section, so the
  test writes one beside it (MES's limits scaled to ES: $12.50 a tick, ~$85k a contract) and starts with
  $100,000 (a 0.002 fraction then risks $200: one ES contract on an 8-tick stop). Each minute's MES and
  ES bars go out together, then the daemon is waited for. Asserted: each instrument's bars recorded in
  order, none lost or doubled; the exact entries of both instruments and the portfolio gates between them
  (the global entry cooldown, and in observe the total exposure cap); each round trip valued at its own
  multiplier; in live, every order on its own contract at the fake and the store's fills equal to the
  fake's executions; each instrument flat in the store, in the run summary and at the venue, and nothing
  left working.

``--max-bars`` is the number of bars pushed: intake stops on the last one.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from ibkr_fake_tws import FakeTws, FakeTwsController, load_bar_file

from tradebot.domain.bars import Bar
from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(120)

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parents[2]
ES_WEEK = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"
CONSTITUTION = REPO / "config" / "constitution.yaml"
NEW_YORK = ZoneInfo("America/New_York")
WINDOW = (dtime(9, 20), dtime(16, 5))  # New York: RTH entries 09:30-16:00 and the 15:55 flatten, padded
CATCH_UP_EVERY = 60  # bars outside the window between two catch-ups
POLL_S = 0.002


def week_bars() -> list[Bar]:
    return load_bar_file(str(ES_WEEK), "MES")


def day_bars(day: int) -> list[Bar]:
    """One CME trading day of October 2013: from the previous evening's 18:00 New York open to 16:14."""
    lo, hi = datetime(2013, 10, day - 1, 22, 0, tzinfo=UTC), datetime(2013, 10, day, 20, 14, tzinfo=UTC)
    return [b for b in week_bars() if lo <= b.ts < hi]


def flatten_day_bars() -> list[Bar]:
    """7 Oct 13:30-16:14 New York: the 15:25 short (wide target) is still open at the 15:55 deadline."""
    lo, hi = datetime(2013, 10, 7, 17, 30, tzinfo=UTC), datetime(2013, 10, 7, 20, 14, tzinfo=UTC)
    return [b for b in week_bars() if lo <= b.ts < hi]


def write_config(tmp: Path, mode: str, port: int, target_ticks: int) -> Path:
    text = f"""
[run]
mode = "{mode}"

[data]
source = "broker"
symbol = "MES"
bar_size_s = 60
clock = "bar"

[instruments.MES]
venue = "CME"
asset_class = "FUTURE"
currency = "USD"
tick_size = "0.25"
lot_step = "1"
min_qty = "1"
multiplier = "5"
calendar = "CME"

[strategy]
profile = "balanced"
sizer = "fixed_fraction"
fraction = "0.002"
stop_ticks = 8
target_ticks = {target_ticks}

[gates]
constitution = "{CONSTITUTION}"

[portfolio]
starting_cash = "10000"

[broker]
name = "ibkr"
environment = "paper"

[broker.ibkr]
host = "127.0.0.1"
port = {port}
client_id = 21
connect_timeout = 3.0
request_timeout = 3.0
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
    seconds: float = 0.0


def in_window(bar: Bar) -> bool:
    local = bar.ts.astimezone(NEW_YORK)
    return local.weekday() < 5 and WINDOW[0] <= local.time() < WINDOW[1]


class Daemon:
    """``tradebot run`` as a subprocess, fed by the fake TWS."""

    def __init__(
        self,
        tmp: Path,
        mode: str,
        config: Path,
        tws: FakeTws,
        max_bars: int,
        symbols: tuple[str, ...] = ("MES",),
    ) -> None:
        self.mode, self.tws, self.symbols = mode, tws, symbols
        self.store = tmp / f"{mode}.db"
        self.out, self.err = tmp / f"{mode}.out", tmp / f"{mode}.err"
        self.args = [
            sys.executable, "-m", "tradebot.cli", "run", "--mode", mode, "--config", str(config),
            "--store", str(self.store), "--max-bars", str(max_bars),
        ]  # fmt: skip
        self.env = {**os.environ, "TRADEBOT_RUN__RUN_DIR": str(tmp / f"run-{mode}")}
        self.cwd = REPO
        self.proc: asyncio.subprocess.Process | None = None
        self.reader: StoreReader | None = None

    async def start(self) -> None:
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = await asyncio.create_subprocess_exec(
                *self.args, cwd=self.cwd, env=self.env, stdout=out, stderr=err
            )
        fronts = {self.tws.front(symbol).con_id for symbol in self.symbols}

        def subscribed() -> bool:  # every instrument's front month streams before any bar goes out
            streaming = {c for s in self.tws.live_sessions() for c in s.rt_bars.values()}
            return fronts <= streaming

        await self._until(subscribed, 30, f"the daemon subscribing to real-time bars of {self.symbols}")
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
            await asyncio.sleep(POLL_S)

    def _caught_up(self, bar: Bar) -> tuple[bool, int]:
        """The bar is recorded; in live mode every venue execution is a fill in the store and every order
        written ahead is at the venue. Also the store's last sequence number (to see it stand still)."""
        assert self.reader is not None
        last = self.reader.last_event("bar")
        seq = self.reader.max_seq()
        if last is None or last.body["ts"] != bar.ts.isoformat():
            return False, seq
        return self._venue_caught_up(), seq

    def _venue_caught_up(self) -> bool:
        if self.mode == "observe":
            return True
        assert self.reader is not None
        counts = self.reader.count_by_kind()
        if counts.get("order_filled", 0) != len(self.tws.executions):
            return False
        return counts.get("order_submit", 0) == len(
            {o.order_ref for o in self.tws.orders.values() if not o.parent_id}
        )

    async def settle(self, bar: Bar) -> None:
        """Caught up, and the store has stood still for one more poll."""
        await self._stand_still(lambda: self._caught_up(bar), f"bar {bar.ts}")

    async def settle_count(self, bars: int) -> None:
        """``bars`` bars recorded (several instruments), caught up with the venue as ``settle``, and the
        store has stood still for one more poll."""

        def caught_up() -> tuple[bool, int]:
            assert self.reader is not None
            seq = self.reader.max_seq()
            return self.reader.count_by_kind().get("bar", 0) >= bars and self._venue_caught_up(), seq

        await self._stand_still(caught_up, f"{bars} bars")

    async def _stand_still(self, caught_up: Callable[[], tuple[bool, int]], what: str) -> None:
        deadline = time.monotonic() + 20
        previous: int | None = None
        while True:
            ok, seq = caught_up()
            if ok and seq == previous:
                return
            previous = seq if ok else None
            assert self.proc is not None
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"the daemon never caught up after {what}:\n{self._log_tail()}")
            await asyncio.sleep(POLL_S)

    async def finish(self, timeout: float = 30) -> Run:
        assert self.proc is not None
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"daemon did not exit after the last bar:\n{self._log_tail()}") from None
        finally:
            await self.kill()
        assert self.proc.returncode is not None
        return Run(self.proc.returncode, self.out.read_text(), self.err.read_text(), self.store)

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self.reader is not None:
            self.reader.close()
            self.reader = None


def venue_flat(tws: FakeTws) -> bool:
    return all(p.quantity == 0 for p in tws.positions.values()) and not any(
        o.is_working for o in tws.orders.values()
    )


async def run_against_fake(
    tmp: Path,
    mode: str,
    bars: list[Bar],
    target_ticks: int = 16,
    venue_time: str = "bars",
    prepare: Callable[[FakeTws], None] | None = None,
) -> tuple[Run, FakeTws]:
    tws = await FakeTws(venue_time=venue_time).start()
    if prepare is not None:
        prepare(tws)
    venue = FakeTwsController(tws)
    started = time.monotonic()
    daemon = Daemon(tmp, mode, write_config(tmp, mode, tws.port, target_ticks), tws, max_bars=len(bars))
    try:
        await daemon.start()
        since_catch_up = 0
        for i, bar in enumerate(bars):
            await venue.push_bar(bar)
            since_catch_up += 1
            if i == len(bars) - 1:
                break  # the last bar ends intake (--max-bars)
            if mode == "live" and (in_window(bars[i + 1]) or not venue_flat(tws)):
                await daemon.settle(bar)
                since_catch_up = 0
            elif since_catch_up >= CATCH_UP_EVERY * (10 if mode == "observe" else 1):
                await daemon.settle(bar)
                since_catch_up = 0
                assert mode == "observe" or venue_flat(tws), f"venue not flat outside the window at {bar.ts}"
        run = await daemon.finish()
    finally:
        await daemon.kill()
        await tws.stop()
    run.seconds = time.monotonic() - started
    print(f"{mode}: {len(bars)} bars ({len(bars) * 12} 5-second bars) in {run.seconds:.1f}s")
    return run, tws


def events(store: Path, *kinds: str) -> list[dict[str, Any]]:
    with StoreReader(store) as reader:
        return [e.body for e in reader.iter_events(kinds=list(kinds))]


def store_position(store: Path) -> Decimal:
    total = Decimal(0)
    for fill in events(store, "order_filled"):
        assert fill["symbol"] == "MES"
        total += (1 if fill["side"] == "BUY" else -1) * Decimal(str(fill["quantity"]))
    return total


def summary_position(summary: str, symbol: str = "MES") -> Decimal:
    """The symbol's position on the run summary's ``positions:`` line (0 when it says none)."""
    (line,) = [ln for ln in summary.splitlines() if ln.startswith("positions:")]
    fields = line.removeprefix("positions:").replace(",", " ").split()
    return (
        Decimal(0)
        if fields == ["none"]
        else Decimal(dict(zip(fields[::2], fields[1::2], strict=True))[symbol])
    )


def assert_clean_exit(run: Run) -> None:
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr[-3000:]}"


def assert_bars_recorded(run: Run, bars: list[Bar]) -> None:
    recorded = events(run.store, "bar")
    assert [r["ts"] for r in recorded] == [b.ts.isoformat() for b in bars], (
        "bars missing, doubled or reordered"
    )
    assert [(r["open"], r["high"], r["low"], r["close"], r["volume"]) for r in recorded] == [
        (b.open, b.high, b.low, b.close, b.volume) for b in bars
    ], "a bar's OHLCV changed on its way through 5-second bars"


def decisions(store: Path) -> list[tuple[Any, ...]]:
    return [
        (d["intent"]["intent_id"], d["outcome"], d["code"], (d.get("order") or {}).get("client_order_id"))
        for d in events(store, "decision")
    ]


def order_trail(store: Path) -> list[tuple[Any, ...]]:
    return [
        (b.get("client_order_id"), b.get("side"), b.get("price"), b.get("quantity"))
        for b in events(store, "order_submit", "order_filled", "order_canceled")
    ]


def flatten_orders(store: Path) -> list[str]:
    return [
        str(d["order"]["client_order_id"])
        for d in events(store, "decision")
        if d["intent"]["source"] == "flatten" and d.get("order")
    ]


def replay_file(tmp: Path, bars: list[Bar], target_ticks: int) -> Path:
    """The same bars run from a file (``source = "csv"``) through the simulated venue: the reference."""
    path = tmp / "bars.csv"
    rows = [
        f"{b.ts.isoformat().replace('+00:00', 'Z')},{b.open},{b.high},{b.low},{b.close},{b.volume}"
        for b in bars
    ]
    path.write_text("ts,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    config = write_config(tmp, "observe", 7497, target_ticks)
    store = tmp / "replay.db"
    args = ["run", "--mode", "observe", "--config", str(config), "--data", str(path), "--store", str(store)]
    result = subprocess.run(
        [sys.executable, "-m", "tradebot.cli", *args, "-q"],
        cwd=REPO,
        env={**os.environ, "TRADEBOT_RUN__RUN_DIR": str(tmp / "run-replay")},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return store


# --- observe ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bars_of", "target_ticks"), [(week_bars, 16), (flatten_day_bars, 40)], ids=["week", "flatten-day"]
)
async def test_observe_trades_on_the_sim_from_the_ibkr_feed_like_a_replay_of_the_file(
    tmp_path: Path, bars_of: Callable[[], list[Bar]], target_ticks: int
) -> None:
    bars = bars_of()
    run, tws = await run_against_fake(tmp_path, "observe", bars, target_ticks)
    assert_clean_exit(run)
    assert_bars_recorded(run, bars)

    # the same decisions, orders and fills as the file itself run through the simulated venue
    reference = replay_file(tmp_path, bars, target_ticks)
    assert decisions(run.store) == decisions(reference)
    assert order_trail(run.store) == order_trail(reference)
    fills = events(run.store, "order_filled")
    assert fills and all(f.get("simulated") for f in fills)
    assert events(run.store, "trade_closed")

    # no order reached the fake TWS: it only served contract details and real-time bars
    assert tws.orders == {} and tws.executions == []
    assert not [f for f in tws.received if f[0] in ("3", "4", "58")]  # placeOrder, cancelOrder, globalCancel

    assert store_position(run.store) == 0 == summary_position(run.stdout)
    assert tws.positions == {}


# --- live ---------------------------------------------------------------------------------------------


def assert_store_agrees_with_the_venue(run: Run, tws: FakeTws) -> None:
    # every venue execution is in the store exactly once, under IB's execId
    fills = events(run.store, "order_filled")
    assert Counter(str(f["fill_id"]) for f in fills) == Counter(e.exec_id for e in tws.executions)
    assert not any(f.get("simulated") for f in fills)
    by_exec = {e.exec_id: e for e in tws.executions}
    for fill in fills:
        ex = by_exec[str(fill["fill_id"])]
        assert fill["client_order_id"] == ex.order.order_ref
        assert Decimal(str(fill["price"])) == Decimal(repr(ex.price))
    # flat in the store, in the summary and at the venue; nothing left working
    assert store_position(run.store) == 0 == summary_position(run.stdout), run.stdout
    assert all(p.quantity == 0 for p in tws.positions.values())
    assert not [o.order_ref for o in tws.orders.values() if o.is_working]


async def test_live_week_brackets_go_to_the_fake_tws_fill_and_cancel_by_oca_ending_flat(
    tmp_path: Path,
) -> None:
    bars = week_bars()
    run, tws = await run_against_fake(tmp_path, "live", bars)
    assert_clean_exit(run)
    assert_bars_recorded(run, bars)
    at_venue = {o.order_ref: o for o in tws.orders.values()}

    # every order the OMS wrote ahead reached TWS with orderRef = our client order id
    submits = events(run.store, "order_submit")
    assert submits, run.stdout
    for sub in submits:
        assert sub["client_order_id"] in at_venue, f"{sub['client_order_id']} never reached TWS"
    entries = [s for s in submits if s["bracket"] is not None]
    assert entries and all(not s["reduce_only"] for s in entries)

    # the constitution held at the venue: one contract, at most 2 entries per New York trading day
    per_day = Counter(datetime.fromisoformat(s["ts"]).astimezone(NEW_YORK).date() for s in entries)
    assert max(per_day.values()) <= 2, per_day
    assert all(o.quantity == 1 for o in tws.orders.values())

    # each entry: parent + target (LMT) + stop (STP), opposite side, in one OCA group (type 1)
    oca_fills = 0
    requested = {c["client_order_id"] for c in events(run.store, "order_cancel_request")}
    canceled = {c["client_order_id"] for c in events(run.store, "order_canceled")}
    for entry in entries:
        cid = str(entry["client_order_id"])
        parent, tp, sl = at_venue[cid], at_venue[f"{cid}-tp"], at_venue[f"{cid}-sl"]
        assert (tp.order_type, sl.order_type) == ("LMT", "STP")
        assert tp.action == sl.action != parent.action
        assert tp.parent_id == sl.parent_id == parent.order_id
        assert tp.oca_group == sl.oca_group == f"oca-{cid}" and tp.oca_type == sl.oca_type == 1
        assert parent.status == "Filled"
        statuses = sorted((tp.status, sl.status))
        assert statuses in (["Cancelled", "Filled"], ["Cancelled", "Cancelled"]), (cid, statuses)
        for leg in (tp, sl):
            if leg.status == "Cancelled":
                assert leg.order_ref in canceled
        if statuses == ["Cancelled", "Filled"]:
            (left,) = [leg for leg in (tp, sl) if leg.status == "Cancelled"]
            if left.order_ref not in requested:
                oca_fills += 1  # TWS cancelled it when its sibling filled: we never asked
    assert oca_fills > 0, "no bracket leg filled with TWS cancelling its sibling: OCA not exercised"
    print(
        f"live week: {len(entries)} brackets, {oca_fills} closed by a leg + OCA, {len(tws.executions)} fills"
    )

    assert_store_agrees_with_the_venue(run, tws)
    assert events(run.store, "trade_closed")

    # `tradebot status` re-derives the same summary from the store alone
    status = subprocess.run(
        [sys.executable, "-m", "tradebot.cli", "status", "--store", str(run.store)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # the same summary; the run goes on with where its log, manifest and report went
    assert status.returncode == 0 and run.stdout.startswith(status.stdout), (status.stdout, status.stderr)


async def test_live_flatten_deadline_cancels_the_legs_and_sends_a_plain_ib_market_order(
    tmp_path: Path,
) -> None:
    bars = flatten_day_bars()
    run, tws = await run_against_fake(tmp_path, "live", bars, target_ticks=40)
    assert_clean_exit(run)
    at_venue = {o.order_ref: o for o in tws.orders.values()}

    (flatten,) = flatten_orders(run.store)
    (submit,) = [s for s in events(run.store, "order_submit") if s["client_order_id"] == flatten]
    assert submit["reduce_only"] and submit["order_type"] == "MARKET"
    assert datetime.fromisoformat(submit["ts"]) == datetime(2013, 10, 7, 19, 55, tzinfo=UTC)  # 15:55 NY

    # the engine first cancelled the open entry's legs, then IB got a plain MKT (it has no reduce-only)
    (entry,) = [s for s in events(run.store, "order_submit") if s["bracket"] is not None]
    legs = {f"{entry['client_order_id']}-tp", f"{entry['client_order_id']}-sl"}
    requests = events(run.store, "order_cancel_request")
    assert {r["client_order_id"] for r in requests} == legs
    assert {r["code"] for r in requests} == {"FLATTEN_DEADLINE"}
    assert all(at_venue[leg].status == "Cancelled" for leg in legs)
    placed = [f for f in tws.received if f[0] == "3"]
    order_of = {f[26]: f for f in placed}  # orderRef -> the placeOrder message
    assert (order_of[flatten][18], order_of[flatten][16]) == ("MKT", "BUY")  # orderType, action
    assert at_venue[flatten].status == "Filled"
    sent = [f[26] for f in placed]
    assert sent.index(flatten) == len(sent) - 1  # after the legs' cancels: nothing else went out after it
    cancels = [i for i, f in enumerate(tws.received) if f[0] == "4"]
    assert cancels and max(cancels) < tws.received.index(order_of[flatten])

    assert_store_agrees_with_the_venue(run, tws)


async def test_live_flatten_without_reduce_only_when_the_stop_fills_under_the_cancel(tmp_path: Path) -> None:
    # IB has no reduce-only flag. Injected race: the short's stop fills at TWS just before the deadline's
    # cancel for it arrives (they cross on the wire), so the flatten's plain MKT BUY, already sent, opens
    # a long. The pipeline sees both fills and flattens that long on the next bar: flat one bar later.
    def stop_fills_under_the_cancel(tws: FakeTws) -> None:
        tws.fill_on_cancel = lambda order: order.order_type == "STP"

    bars = flatten_day_bars()
    run, tws = await run_against_fake(
        tmp_path, "live", bars, target_ticks=40, prepare=stop_fills_under_the_cancel
    )
    # the forced long is a second losing round trip: 2 consecutive losses halt MES for the day (exit 5)
    assert run.returncode == 5, f"exit {run.returncode}\n{run.stdout}\n{run.stderr[-3000:]}"
    (halt,) = [t for t in events(run.store, "trading_state") if t["to"] == "HALTED"]
    assert halt["code"] == "CONSECUTIVE_LOSSES_BLOCK"
    at_venue = {o.order_ref: o for o in tws.orders.values()}
    (entry,) = [s for s in events(run.store, "order_submit") if s["bracket"] is not None]
    assert at_venue[f"{entry['client_order_id']}-sl"].status == "Filled"
    assert at_venue[f"{entry['client_order_id']}-tp"].status == "Cancelled"

    first, second = flatten_orders(run.store)
    assert [(at_venue[c].action, at_venue[c].order_type, at_venue[c].status) for c in (first, second)] == [
        ("BUY", "MKT", "Filled"),
        ("SELL", "MKT", "Filled"),
    ]
    position, path = Decimal(0), []
    for ex in tws.executions:  # the venue's position after each execution
        position += ex.shares if ex.side == "BOT" else -ex.shares
        path.append(position)
    assert path == [-1, 0, 1, 0]  # short, stopped out, reversed by the flatten MKT, flattened again
    submits = {s["client_order_id"]: s["ts"] for s in events(run.store, "order_submit")}
    assert [datetime.fromisoformat(submits[c]).strftime("%H:%M") for c in (first, second)] == [
        "19:55",
        "19:56",
    ]
    assert_store_agrees_with_the_venue(run, tws)


async def test_live_trade_limits_hold_when_the_venue_stamps_fills_on_another_day(tmp_path: Path) -> None:
    # the fake stamps executions with the wall clock (2026) while the pipeline runs on 2013 bar time: the
    # day's limits must still be the pipeline's day (2 entries on 8 Oct, then TRADES_PER_DAY_BLOCK)
    run, tws = await run_against_fake(tmp_path, "live", day_bars(8), venue_time="wall")
    assert run.returncode in (0, 5), run.stderr[-3000:]  # 5: halted for the day by 2 consecutive losses
    entries = [s for s in events(run.store, "order_submit") if s["bracket"] is not None]
    assert 0 < len(entries) <= 2, [e["ts"] for e in entries]
    assert_store_agrees_with_the_venue(run, tws)


async def test_sigterm_stops_the_daemon_while_the_ibkr_feed_is_quiet(tmp_path: Path) -> None:
    import signal

    bars = week_bars()[:5]
    tws = await FakeTws(venue_time="bars").start()
    daemon = Daemon(tmp_path, "observe", write_config(tmp_path, "observe", tws.port, 16), tws, max_bars=100)
    try:
        await daemon.start()
        await FakeTwsController(tws).push_bars(bars)
        await daemon.settle(bars[-1])
        assert daemon.proc is not None
        daemon.proc.send_signal(signal.SIGTERM)  # no bar follows: the feed stays quiet
        try:
            await asyncio.wait_for(daemon.proc.wait(), 5)
        except TimeoutError:
            raise AssertionError("the daemon ignored SIGTERM for 5 s while its feed was quiet") from None
        run = await daemon.finish()
    finally:
        await daemon.kill()
        await tws.stop()
    assert_clean_exit(run)
    assert_bars_recorded(run, bars)


# --- two instruments through one broker ---------------------------------------------------------------
ES_SECTION = """
  ES:                              # the full-size E-mini: 10 x MES (tick $12.50), MES's limits scaled up
    limits:
      daily_loss_cap_usd: 300
      max_consecutive_losses: 2
      max_trades_per_day: 2
      position_limit: 1            # contracts
      per_trade_risk_usd: 150      # 12 ticks x $12.50
      max_stop_ticks: 12
      require_stop: true
      min_capital_usd: 15000
      dvs_min: 0.80
      eqs_min: 0.75
    session:
      timezone: "America/New_York"
      trading_hours: {name: "rth", start: "09:30", end: "16:00"}
      no_trade_windows:
        - {name: "open", start: "09:30", end: "09:35"}
        - {name: "lunch", start: "12:00", end: "13:00"}
        - {name: "close", start: "15:45", end: "16:00"}
      flatten_at: "15:55"
      flatten_before_close_min: 5
    entry_policy:                  # one ES contract is ~$85k notional (Oct 2013)
      max_exposure_total_usd: 100000
      max_exposure_per_symbol_usd: 100000
      allow_scale_in: false
      allocation_enabled: false
    governor:
      min_order_usd: 0
      max_position_usd: 100000
      max_notional_usd: 100000
    pretrade:
      max_order_usd: 100000
      max_order_qty: 1
      collar_pct: "0.005"
      max_orders_per_min: 6
      max_orders_per_min_symbol: 4
      max_cancels_per_min: 6
      max_cancels_without_fill: 3
      cancel_loop_block_bars: 5
    portfolio:                     # as MES: one contract is the smallest position, and most of the account
      target_annual_vol: null
      max_symbol_weight: "1"
    liquidity:
      thin_max_order_usd: 100000
"""
TWO = ("MES", "ES")
DAY = 8
TWO_CASH = "100000"  # fraction 0.002 of it risks $200: one ES contract fits an 8-tick stop ($100)


def rth_bars(day: int, symbol: str) -> list[Bar]:
    """One October 2013 day's RTH, padded: 09:20-16:14 New York, as bars of ``symbol``."""
    lo, hi = datetime(2013, 10, day, 13, 20, tzinfo=UTC), datetime(2013, 10, day, 20, 14, tzinfo=UTC)
    return [b for b in load_bar_file(str(ES_WEEK), symbol) if lo <= b.ts < hi]


def two_instrument_config(tmp: Path, mode: str, port: int) -> Path:
    """MES and ES on the plugin's feed (``[data.feeds.X]`` without files), an ``[instruments.ES]`` table,
    and the repo's constitution with an ES section added (it has none: ES would be sized by `default`)."""
    constitution = tmp / "two_constitution.yaml"
    constitution.write_text(CONSTITUTION.read_text().rstrip("\n") + "\n" + ES_SECTION)
    text = write_config(tmp, mode, port, target_ticks=16).read_text()
    es = """[instruments.ES]
venue = "CME"
asset_class = "FUTURE"
currency = "USD"
tick_size = "0.25"
lot_step = "1"
min_qty = "1"
multiplier = "50"
calendar = "CME"

[strategy]"""
    replacements = {
        "[instruments.MES]": "[data.feeds.MES]\n\n[data.feeds.ES]\n\n[instruments.MES]",
        "[strategy]": es,
        f'constitution = "{CONSTITUTION}"': f'constitution = "{constitution}"',
        'starting_cash = "10000"': f'starting_cash = "{TWO_CASH}"',
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp / f"two-{mode}.toml"
    path.write_text(text)
    return path


async def two_instruments(tmp: Path, mode: str, day: int) -> tuple[Run, FakeTws, list[Bar]]:
    """The day's RTH bars as MES and as ES through one fake TWS: each minute's two bars go out together
    (MES first), then the daemon is waited for (both recorded; in live, caught up with the venue)."""
    bars = [b for pair in zip(rth_bars(day, "MES"), rth_bars(day, "ES"), strict=True) for b in pair]
    tws = await FakeTws(venue_time="bars").start()
    venue = FakeTwsController(tws)
    started = time.monotonic()
    config = two_instrument_config(tmp, mode, tws.port)
    daemon = Daemon(tmp, mode, config, tws, max_bars=len(bars), symbols=TWO)
    try:
        await daemon.start()
        for pushed in range(2, len(bars) + 1, 2):
            for bar in bars[pushed - 2 : pushed]:
                await venue.push_bar(bar)
            if pushed < len(bars):  # the last bar ends intake (--max-bars)
                await daemon.settle_count(pushed)
        run = await daemon.finish()
    finally:
        await daemon.kill()
        await tws.stop()
    run.seconds = time.monotonic() - started
    print(f"two instruments {mode}: {len(bars)} bars ({len(bars) * 12} 5-second bars) in {run.seconds:.1f}s")
    return run, tws, bars


def signed(fill: dict[str, Any], buy: int = 1) -> Decimal:
    """The fill's quantity, signed ``buy`` for a BUY and ``-buy`` for a SELL."""
    return (buy if fill["side"] == "BUY" else -buy) * Decimal(str(fill["quantity"]))


def symbol_position(store: Path, symbol: str) -> Decimal:
    return sum((signed(f) for f in events(store, "order_filled") if f["symbol"] == symbol), Decimal(0))


def hhmm(ts: str) -> str:
    return datetime.fromisoformat(ts).strftime("%H:%M")


def portfolio_blocks(store: Path) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(time, symbol, gate, details) of every entry a portfolio gate blocked (the per-instrument limits
    are other gates)."""
    return [
        (hhmm(d["intent"]["ts"]), d["intent"]["symbol"], v["gate"], v.get("details") or {})
        for d in events(store, "decision")
        for v in d["verdicts"]
        if v["gate"] in ("entry_global_cooldown", "entry_max_exposure") and v["outcome"] == "BLOCK"
    ]


def position_at(store: Path, symbol: str, hh_mm: str) -> Decimal:
    """The store's position in ``symbol`` when the bar of ``hh_mm`` (UTC) was decided on: its fills before."""
    fills = events(store, "order_filled")
    return sum((signed(f) for f in fills if f["symbol"] == symbol and hhmm(f["ts"]) < hh_mm), Decimal(0))


# The entries (UTC time, symbol) of 8 Oct: MES and ES get the same bars, so they signal on the same bars.
# 15:20 both: the global entry cooldown (60 s, any instrument) lets MES (whose bar arrives first) in and
# holds ES to the next bar, 15:21. Both shorts close on their targets around 15:40:
# - observe: the simulated venue fills on 1-minute bars, so at MES's 15:40 bar ES is still short one
#   contract (~$83k): MES's entry is blocked by the portfolio's total exposure (MES's cap is $40k, scope
#   "total") until ES's target fills on ES's own 15:40 bar, whose entry then goes in; MES's next is 17:03.
# - live: the fake fills on 5-second bars, both targets fill inside 15:39, so at 15:40 both are flat and
#   the 15:20 pattern repeats (MES 15:40, ES held by the cooldown to 15:41, ES's $100k total cap holding
#   both contracts).
TWO_ENTRIES = {
    "observe": [("15:20", "MES"), ("15:21", "ES"), ("15:40", "ES"), ("17:03", "MES")],
    "live": [("15:20", "MES"), ("15:21", "ES"), ("15:40", "MES"), ("15:41", "ES")],
}
TWO_COOLDOWNS = {"observe": [("15:20", "ES")], "live": [("15:20", "ES"), ("15:40", "ES")]}
MULTIPLIER = {"MES": Decimal(5), "ES": Decimal(50)}


@pytest.mark.parametrize("mode", ["observe", "live"])
async def test_two_instruments_mes_and_es_on_one_ibkr_feed(tmp_path: Path, mode: str) -> None:
    run, tws, bars = await two_instruments(tmp_path, mode, DAY)
    assert_clean_exit(run)
    assert not [s for s in events(run.store, "trading_state") if s.get("to") == "HALTED"]

    # each instrument's bars in order, none lost, doubled or changed on the way through 5-second bars
    recorded = events(run.store, "bar")
    for symbol in TWO:
        want = [
            (b.ts.isoformat(), b.open, b.high, b.low, b.close, b.volume) for b in bars if b.symbol == symbol
        ]
        got = [
            (r["ts"], r["open"], r["high"], r["low"], r["close"], r["volume"])
            for r in recorded
            if r["symbol"] == symbol
        ]
        assert got == want, symbol
    assert len(recorded) == len(bars)

    # both instruments traded, and the portfolio gates judged them together (see TWO_ENTRIES)
    submits = events(run.store, "order_submit")
    entries = [s for s in submits if s["bracket"] is not None]
    assert [(hhmm(s["ts"]), s["symbol"]) for s in entries] == TWO_ENTRIES[mode], run.stdout
    blocks = portfolio_blocks(run.store)
    cooldowns = [(t, sym) for t, sym, gate, _ in blocks if gate == "entry_global_cooldown"]
    assert cooldowns == TWO_COOLDOWNS[mode]
    exposure = [(t, sym, details) for t, sym, gate, details in blocks if gate == "entry_max_exposure"]
    if mode == "observe":
        assert exposure and exposure[0][0] == "15:40"
        for t, sym, details in exposure:  # MES refused while ES's open contract fills the total cap
            assert (sym, details["scope"], details["cap_usd"]) == ("MES", "total", "40000"), details
            assert Decimal(details["exposure"]) > 40000, details
            assert position_at(run.store, "ES", t) == -1, (t, details)
    else:
        assert exposure == []
    assert {d["intent"]["symbol"] for d in events(run.store, "decision")} == set(TWO)

    # each round trip valued at its own contract's multiplier (ES 50, MES 5); a closed trade's pnl is net
    # of its closing fill's fee (the entry's fee is charged when it fills)
    fills = events(run.store, "order_filled")
    closed = events(run.store, "trade_closed")
    entry_ids = {s["client_order_id"] for s in entries}
    for symbol in TWO:
        mine = [f for f in fills if f["symbol"] == symbol]
        points = sum((signed(f, -1) * Decimal(str(f["price"])) for f in mine), Decimal(0))
        exit_fees = sum(Decimal(str(f["fee"])) for f in mine if f["client_order_id"] not in entry_ids)
        pnl = sum((Decimal(str(t["pnl"])) for t in closed if t["symbol"] == symbol), Decimal(0))
        assert pnl == points * MULTIPLIER[symbol] - exit_fees, (symbol, pnl, points, exit_fees)

    if mode == "live":
        # every order the OMS wrote ahead is at the venue, on its own instrument's front-month contract
        at_venue = {o.order_ref: o for o in tws.orders.values()}
        for sub in submits:
            order = at_venue[sub["client_order_id"]]
            assert order.contract.con_id == tws.front(sub["symbol"]).con_id, sub["client_order_id"]
        multipliers = {o.contract.symbol: o.contract.multiplier for o in tws.orders.values()}
        assert multipliers == {"MES": "5", "ES": "50"}
        # every venue execution is in the store exactly once, under IB's execId, with its price
        assert Counter(str(f["fill_id"]) for f in fills) == Counter(e.exec_id for e in tws.executions)
        by_exec = {e.exec_id: e for e in tws.executions}
        for fill in fills:
            ex = by_exec[str(fill["fill_id"])]
            assert (fill["client_order_id"], fill["symbol"]) == (ex.order.order_ref, ex.order.contract.symbol)
            assert Decimal(str(fill["price"])) == Decimal(repr(ex.price))
        assert {e.order.contract.symbol for e in tws.executions} == set(TWO)
    else:
        assert tws.orders == {} and tws.executions == []
        assert fills and all(f.get("simulated") for f in fills)

    # each instrument ends flat: in the store, in the run summary and at the venue; nothing left working
    for symbol in TWO:
        assert symbol_position(run.store, symbol) == 0 == summary_position(run.stdout, symbol), run.stdout
    assert all(p.quantity == 0 for p in tws.positions.values())
    assert not [o.order_ref for o in tws.orders.values() if o.is_working]
