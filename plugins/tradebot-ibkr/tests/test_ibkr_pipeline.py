"""The whole daemon (`tradebot run`, the real pipeline) against the fake TWS, on the bundled ES week as MES.

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

    def __init__(self, tmp: Path, mode: str, config: Path, tws: FakeTws, max_bars: int) -> None:
        self.mode, self.tws = mode, tws
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
        subscribed = lambda: any(s.rt_bars for s in self.tws.live_sessions())  # noqa: E731
        await self._until(subscribed, 30, "the daemon subscribing to real-time bars")
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
        if self.mode == "observe":
            return True, seq
        counts = self.reader.count_by_kind()
        if counts.get("order_filled", 0) != len(self.tws.executions):
            return False, seq
        if counts.get("order_submit", 0) != len(
            {o.order_ref for o in self.tws.orders.values() if not o.parent_id}
        ):
            return False, seq
        return True, seq

    async def settle(self, bar: Bar) -> None:
        """Caught up, and the store has stood still for one more poll."""
        deadline = time.monotonic() + 20
        previous: int | None = None
        while True:
            ok, seq = self._caught_up(bar)
            if ok and seq == previous:
                return
            previous = seq if ok else None
            assert self.proc is not None
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"the daemon never caught up after bar {bar.ts}:\n{self._log_tail()}")
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


def summary_position(summary: str) -> Decimal:
    (line,) = [ln for ln in summary.splitlines() if ln.startswith("positions:")]
    fields = line.removeprefix("positions:").replace(",", " ").split()
    return (
        Decimal(0)
        if fields == ["none"]
        else Decimal(dict(zip(fields[::2], fields[1::2], strict=True))["MES"])
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
