"""``make soak``: many kill-and-restart trials on real data; prints every trial and the tally.

    python tests/faults/soak.py [--trials 60] [--seed 7] [--dir DIR]

Workloads: the bundled ES week under the busy config with external intents, the SPY one-minute week of
2013-10 (../shared/data) on signals only, a flood of external intents, a 24h cron session, the shipped
config and two strategy sleeves netted on one instrument. Kill points: every point of fault_child.py, with
SIGKILL and SIGTERM; N is drawn (seeded) from the twin run's own counts so the kill lands while orders flow.
Exits 1 when any trial sent an order twice, lost or invented a fill, left store and venue positions apart,
or ended differently from its twin.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[2])]

from kill_harness import (  # noqa: E402
    ES_WEEK,
    SIGNALS,
    SPY_WEEK,
    Outcome,
    TrialResult,
    Workload,
    busy_workload,
    run_trial,
    run_twin,
    shipped_workload,
    slice_of,
    tally,
)

POINTS = ("bar", "write_ahead", "submit", "fill", "reconcile", "close_started", "close_step")


def workloads(directory: Path) -> list[Workload]:
    return [
        busy_workload(directory, "es-intents", ES_WEEK, intents=40),
        busy_workload(directory, "spy", SPY_WEEK, tick_size="0.01"),
        busy_workload(directory, "es-flood", slice_of(ES_WEEK, directory / "flood.csv", 1200, 1500),
                      intents=600),
        busy_workload(directory, "es-session", slice_of(ES_WEEK, directory / "session.csv", 0, 1500),
                      session="24h"),
        shipped_workload(directory, "es-shipped", ES_WEEK),
        sleeves_workload(directory, "es-sleeves", ES_WEEK),
    ]


def sleeves_workload(directory: Path, name: str, data: Path) -> Workload:
    """The busy config with two strategy sleeves netted on its one instrument."""
    from test_sleeves_kill import SLEEVES

    return busy_workload(directory, name, data, tables=SLEEVES)


def limit(twin: Outcome, point: str, bars: int) -> int:
    return {
        "bar": bars,
        "write_ahead": len(twin.orders),
        "submit": len(twin.orders),
        "fill": len(twin.fills),
        "reconcile": 1,
        "close_started": 1,
        "close_step": 5,
    }[point]


def plan(loads: list[Workload], twins: dict[str, Outcome], bars: dict[str, int], trials: int,
         rng: random.Random) -> list[tuple[Workload, str, int, str]]:
    cells = [(w, p, s) for w in loads for p in POINTS for s in SIGNALS
             if (not p.startswith("close") or w.session) and limit(twins[w.name], p, bars[w.name]) > 0]
    chosen = [cells[i % len(cells)] for i in range(trials)]
    return [(w, p, rng.randint(1, limit(twins[w.name], p, bars[w.name])), s) for w, p, s in chosen]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="tradebot-soak-"))
    rng = random.Random(args.seed)
    loads = workloads(directory)
    twins = {w.name: run_twin(w, directory) for w in loads}
    bars = {w.name: sum(1 for _ in w.data.open()) - 1 for w in loads}
    for w in loads:
        t = twins[w.name]
        print(f"twin {w.name}: {len(t.orders)} orders, {len(t.fills)} fills, {len(t.decisions)} decisions,"
              f" realized {t.realized_pnl}, positions {t.positions}, state {t.trading_state}", flush=True)
    results: list[TrialResult] = []
    started = time.monotonic()
    for workload, point, n, signal in plan(loads, twins, bars, args.trials, rng):
        prelude = ("bar", max(1, bars[workload.name] // 2), "KILL") if point == "reconcile" else None
        try:
            result = run_trial(workload, point, n, signal, twins[workload.name], directory, prelude=prelude)
        except AssertionError as exc:
            result = TrialResult(workload.name, point, n, signal, True, 0, False, False, 0, 0, 0, 0,
                                 f"ERROR {exc}"[:400])
        results.append(result)
        print(result.line(), flush=True)
    print(f"\n{len(results)} trials in {time.monotonic() - started:.0f} s (stores under {directory})")
    print(tally(results))
    bad = [r for r in results if not r.equal or r.duplicates or r.lost_fills or r.extra_fills or r.mismatches]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
