"""Kill the real daemon at a deterministic point, restart it until it finishes, and judge what survived.

A trial is (workload, kill point, N, signal). The uninterrupted run of the same workload is its twin. After
the kill the same command is run again (plain, no hook) until it exits 0; then the store and the simulated
venue are read back and checked against the invariants every restart must keep:

* no client order id written ahead (``order_submit``) or sent twice;
* every fill the venue made is in the store exactly once (by fill id), and nothing else is;
* the store's final positions equal the venue's;
* the outcome (orders, fills, decisions, realized PnL, final positions and trading state) equals the twin's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from store_outcome import first_difference
from store_outcome import outcome as events_of

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
ES_WEEK = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"
SPY_WEEK = SHARED_DATA / "spy_1m_2013-10-04_2013-10-11.csv"
SIGNALS = ("KILL", "TERM")
RUN_TIMEOUT_S = 300
# exit codes of a run that went to the end of its data: 5, it ended halted; 4, a session's close found a
# position still open (a replayed session has no bar after its window to fill the flatten order on)
FINISHED = (0, 4, 5)


@dataclass(frozen=True)
class Workload:
    """One replay command on real bars: its config (with its constitution), bar file and intents."""

    name: str
    config: Path
    data: Path
    intents: Path | None = None
    session: str | None = None  # a ``run --mode observe --session`` (cron) run instead of a replay

    def args(self, store: Path) -> list[str]:
        if self.session is None:
            args = ["replay", "--config", str(self.config), "--data", str(self.data), "--out", str(store)]
        else:
            args = ["run", "--mode", "observe", "--session", self.session, "--config", str(self.config),
                    "--data", str(self.data), "--store", str(store)]
        args.append("-q")
        if self.intents is not None:
            args += ["--intents", str(self.intents)]
        return args


@dataclass(frozen=True)
class TwoInstruments(Workload):
    """A replay of several instruments' bar files (``--data SYMBOL=path`` each)."""

    feeds: tuple[tuple[str, Path], ...] = ()

    def args(self, store: Path) -> list[str]:
        args = ["replay", "--config", str(self.config), "--store", str(store), "-q"]
        for symbol, path in self.feeds:
            args += ["--data", f"{symbol}={path}"]
        return args


def busy_workload(
    directory: Path, name: str, data: Path, *, intents: int = 0, session: str | None = None,
    tick_size: str = "0.25", fraction: str = "0.001", tables: str = "",
) -> Workload:
    """The benchmark's ``busy`` config (every gate on, limits wide enough that orders flow on most signals,
    a 24/7 calendar) on a real bar file, with ``intents`` external intents spread over it (none: signals
    only); ``fraction`` and ``tables`` as ``bench.config.write_busy_config`` takes them."""
    from bench.config import write_busy_config

    config = write_busy_config(
        directory / name, profile="aggressive", tick_size=tick_size, fraction=fraction, tables=tables
    )
    intents_path = write_intents(directory / name / "intents.jsonl", data, intents) if intents else None
    return Workload(name, config, data, intents_path, session)


def shipped_workload(directory: Path, name: str, data: Path) -> Workload:
    """The shipped config and constitution (MES on the CME calendar, two trades a day, loss halts) with
    its run directory moved under ``directory``."""
    text = (REPO / "config" / "tradebot.toml").read_text()
    text = text.replace('run_dir = "runs"', f'run_dir = "{directory / name / "runs"}"')
    text = text.replace('constitution = "config/constitution.yaml"',
                        f'constitution = "{REPO / "config" / "constitution.yaml"}"')
    (directory / name).mkdir(parents=True, exist_ok=True)
    config = directory / name / "tradebot.toml"
    config.write_text(text)
    return Workload(name, config, data)


def slice_of(data: Path, path: Path, first: int, count: int) -> Path:
    """Rows ``first .. first+count`` of a bar file (with its header)."""
    header, *rows = data.read_text().splitlines()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows[first:first + count]]) + "\n")
    return path


def write_intents(path: Path, data: Path, count: int) -> Path:
    """``count`` external intents for BENCH at bar times spread evenly over ``data``, alternating sides,
    each a market order of 1 lot priced at that bar's close."""
    rows = data.read_text().splitlines()[1:]
    step = max(1, len(rows) // (count + 1))
    lines = []
    for i in range(count):
        ts, _open, _high, _low, close, *_ = rows[(i + 1) * step].split(",")
        when = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)
        lines.append(json.dumps({
            "schema_version": "1.1",
            "intent_id": f"ext-{i}",
            "symbol": "BENCH",
            "side": "BUY" if i % 2 == 0 else "SELL",
            "quantity": "1",
            "reference_price": str(Decimal(close).quantize(Decimal("0.25"))),
            "confidence": 0.9,
            "ts": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }))
    path.write_text("\n".join(lines) + "\n")
    return path


def tradebot_command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "tradebot.cli", *args]


def fault_command(point: str, n: int, signal: str, args: Sequence[str]) -> list[str]:
    return [sys.executable, str(HERE / "fault_child.py"), point, str(n), signal, "--", *args]


def run(command: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEBOT_")}
    return subprocess.run(
        list(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )


# --- what a store says ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    orders: tuple[tuple[str, ...], ...]
    fills: tuple[tuple[str, ...], ...]
    decisions: tuple[tuple[str, str], ...]
    realized_pnl: str
    positions: tuple[tuple[str, str], ...]
    trading_state: str
    store: Path = field(compare=False)
    exit_code: int = field(compare=False)
    duplicate_orders: tuple[str, ...] = field(compare=False)
    duplicate_fills: tuple[str, ...] = field(compare=False)
    fill_ids: frozenset[str] = field(compare=False)

    def differences(self, other: Outcome) -> list[str]:
        out = []
        for name in ("orders", "fills", "decisions", "realized_pnl", "positions", "trading_state"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                out.append(f"{name}: {_first_difference(mine, theirs)}")
        return out


def _first_difference(a: Any, b: Any) -> str:
    if isinstance(a, tuple) and isinstance(b, tuple):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return f"#{i}: {x} != {y}"
        return f"lengths {len(a)} != {len(b)}"
    return f"{a} != {b}"


def read_outcome(store: Path, exit_code: int = 0) -> Outcome:
    from tradebot.pipeline.summary import summarize_store
    from tradebot.store import StoreReader

    with StoreReader(store) as reader:
        submits = [e for e in reader.iter_events(kinds=("order_submit",))]
        fills = [e for e in reader.iter_events(kinds=("order_filled",))]
        decisions = [e for e in reader.iter_events(kinds=("decision",))]
    summary = summarize_store(store)
    submit_counts = Counter(e.client_order_id for e in submits)
    fill_counts = Counter(e.body["fill_id"] for e in fills)
    return Outcome(
        store=store,
        exit_code=exit_code,
        orders=tuple(
            tuple(str(e.body.get(k)) for k in ("client_order_id", "side", "quantity", "order_type",
                                                 "limit_price", "stop_price", "reduce_only", "ts"))
            for e in submits
        ),
        fills=tuple(
            tuple(str(e.body.get(k)) for k in ("client_order_id", "quantity", "price", "fee", "ts"))
            for e in fills
        ),
        decisions=tuple(sorted((str(e.body["intent"]["intent_id"]), str(e.body["code"])) for e in decisions)),
        realized_pnl=f"{Decimal(str(summary.get('realized_pnl', 0))).normalize():f}",
        positions=tuple(sorted((s, f"{Decimal(q).normalize():f}")
                               for s, q in summary.get("positions", {}).items() if Decimal(q) != 0)),
        trading_state=str(summary.get("trading_state")),
        duplicate_orders=tuple(sorted(c for c, n in submit_counts.items() if n > 1 and c)),
        duplicate_fills=tuple(sorted(f for f, n in fill_counts.items() if n > 1)),
        fill_ids=frozenset(fill_counts),
    )


@dataclass(frozen=True)
class VenueView:
    fill_ids: frozenset[str]
    positions: tuple[tuple[str, str], ...]


def read_venue(store: Path) -> VenueView:
    """What the simulated venue holds for the run that wrote ``store``: the venue a restart would rebuild
    from the store's recorded calls (bars seen, orders sent, cancels), its fills re-made by matching them
    again, and its positions. The rebuild itself refuses a store whose recorded fills it does not re-make."""
    from tradebot.pipeline.venue_projection import venue_from_store

    venue = venue_from_store(store)
    try:
        fills = venue.fills_since(datetime(1970, 1, 1, tzinfo=UTC))
        positions = tuple(sorted((p.symbol, f"{p.quantity.normalize():f}") for p in venue.positions()
                                 if p.quantity != 0))
    finally:
        venue.close()
    return VenueView(frozenset(f.fill_id for f in fills), positions)


# --- one trial ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrialResult:
    workload: str
    point: str
    n: int
    signal: str
    reached: bool
    restarts: int
    equal: bool
    exact: bool  # every outcome event (decision verdicts, order and venue events, times) equal too
    duplicates: int
    lost_fills: int
    extra_fills: int
    mismatches: int
    detail: str

    def line(self) -> str:
        verdict = ("exact" if self.exact else "equal") if self.equal else "DIFFERS"
        return (f"{self.workload:10} {self.point:11} n={self.n:<4} SIG{self.signal:4} "
                f"{'reached' if self.reached else 'NOT REACHED':11} restarts={self.restarts} {verdict}"
                f" dup={self.duplicates} lost={self.lost_fills} extra={self.extra_fills}"
                f" mismatch={self.mismatches}{'  ' + self.detail if self.detail else ''}")


def run_twin(workload: Workload, directory: Path) -> Outcome:
    store = directory / f"{workload.name}-twin.db"
    done = run(tradebot_command(workload.args(store)), REPO)
    if done.returncode not in FINISHED:
        raise AssertionError(
            f"the uninterrupted {workload.name} run failed ({done.returncode}): {done.stderr}"
        )
    return read_outcome(store, done.returncode)


def run_trial(
    workload: Workload, point: str, n: int, signal: str, twin: Outcome, directory: Path, *,
    prelude: tuple[str, int, str] | None = None, max_restarts: int = 3,
) -> TrialResult:
    """Run ``workload`` with the kill armed at (point, n, signal), restart it plainly until it exits 0 and
    judge the result. ``prelude`` (point, n, signal) is a kill armed in a run before this one — for a kill
    point that only exists on a restart (``reconcile``)."""
    store = directory / f"{workload.name}-{point}-{n}-{signal}.db"
    args = workload.args(store)
    again = [*args, "--resume"]  # every start after the first continues the store
    if prelude is not None:
        first = run(fault_command(*prelude, args), REPO)
        _expect_stopped(first, prelude[2])
    armed = run(fault_command(point, n, signal, again if prelude is not None else args), REPO)
    reached = "fault point reached" in armed.stderr or armed.returncode < 0
    if not reached and armed.returncode not in FINISHED:
        raise AssertionError(f"armed run failed unreached ({armed.returncode}): {armed.stderr[-2000:]}")
    restarts = 0
    last = armed
    while last.returncode not in FINISHED or (reached and restarts == 0):
        if restarts >= max_restarts:
            raise AssertionError(f"no clean finish after {restarts} restarts: {last.stderr[-2000:]}")
        last = run(tradebot_command(again), REPO)
        restarts += 1
    if "Traceback" in last.stderr:
        raise AssertionError(f"a traceback on restart: {last.stderr[-3000:]}")
    outcome = read_outcome(store, last.returncode)
    venue = read_venue(store)
    differences = outcome.differences(twin)
    if last.returncode != twin.exit_code:
        differences.append(f"exit code {last.returncode} != {twin.exit_code}")
    strict = first_difference(events_of(store), events_of(twin.store))
    if strict is not None and not differences:
        differences.append(strict)
    mismatch = outcome.positions != venue.positions
    if mismatch:
        differences.append(f"store positions {outcome.positions} != venue {venue.positions}")
    return TrialResult(
        workload=workload.name,
        point=point,
        n=n,
        signal=signal,
        reached=reached,
        restarts=restarts,
        equal=not outcome.differences(twin) and last.returncode == twin.exit_code,
        exact=strict is None,
        duplicates=len(outcome.duplicate_orders) + len(outcome.duplicate_fills),
        lost_fills=len(venue.fill_ids - outcome.fill_ids),
        extra_fills=len(outcome.fill_ids - venue.fill_ids),
        mismatches=int(mismatch),
        detail="; ".join(differences)[:400],
    )


def assert_ends_as_the_twin(result: TrialResult) -> None:
    """The run was stopped at its kill point and restarted, and ends as the uninterrupted one: no order sent
    twice, no fill lost or invented, store and venue positions equal, the same outcome."""
    line = result.line()
    assert result.reached and result.restarts >= 1, line
    assert result.duplicates == 0, line
    assert result.lost_fills == 0 and result.extra_fills == 0, line
    assert result.mismatches == 0, line
    assert result.equal, line


def _expect_stopped(done: subprocess.CompletedProcess[str], signal: str) -> None:
    if signal == "KILL" and done.returncode != -9:
        raise AssertionError(f"the prelude kill did not land ({done.returncode}): {done.stderr[-2000:]}")


def tally(results: Sequence[TrialResult]) -> str:
    reached = [r for r in results if r.reached]
    return (
        f"trials {len(results)} (kill point reached in {len(reached)}) / "
        f"equal {sum(r.equal for r in results)} (event for event {sum(r.exact for r in results)}) / "
        f"duplicates {sum(r.duplicates for r in results)} / "
        f"lost fills {sum(r.lost_fills for r in results)} / "
        f"extra fills {sum(r.extra_fills for r in results)} / "
        f"position mismatches {sum(r.mismatches for r in results)}"
    )
