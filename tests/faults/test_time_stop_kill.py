"""The AI sizer LIVE on the ES week as MES (the shipped config and constitution), its harvest policies' time
stops at 5 minutes, stopped around its first time-stop exit and restarted (``run --mode observe`` on the bar
file: replay clock, every write-ahead committed before the venue sees it).

* Stopped cleanly after the entry filled (``--max-bars``), the restart finds the open position's deadline
  in the store (the entry's decision and write-ahead, its opening fill): the exit goes at the same bar.
* Killed at the exit's write-ahead, at its submit, at its fill, or at the bar that reached the deadline,
  the restart sends no time-stop exit twice and loses none: the same orders, fills, decisions, PnL and
  positions as the uninterrupted run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from kill_harness import (
    ES_WEEK,
    REPO,
    Outcome,
    Workload,
    assert_ends_as_the_twin,
    read_outcome,
    run,
    run_trial,
    run_twin,
    shipped_workload,
    tradebot_command,
)
from store_outcome import first_difference, outcome

from tradebot.store import StoreReader

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

AI_LIVE = """
[strategy.ai]
basis = "risk"

[strategy.ai.harvest.policies.SCALPER]
time_stop_s = 300

[strategy.ai.harvest.policies.SWING]
time_stop_s = 300

[strategy.ai.harvest.policies.TREND_RUNNER]
time_stop_s = 300
"""


@dataclass(frozen=True)
class ObserveRun(Workload):
    """``tradebot run --mode observe`` on the bar file (its write-aheads committed before the venue call)."""

    def args(self, store: Path) -> list[str]:
        return ["run", "--mode", "observe", "--config", str(self.config), "--data", str(self.data),
                "--store", str(store), "-q"]


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("time-stop-kills")


@pytest.fixture(scope="module")
def workload(directory: Path) -> Workload:
    shipped = shipped_workload(directory, "time-stop", ES_WEEK)
    text = shipped.config.read_text()
    text = text.replace('sizer = "fixed_fraction"', 'sizer = "ai"')
    text = text.replace('ai_mode = "shadow"', 'ai_mode = "live"')
    shipped.config.write_text(text + AI_LIVE)
    return ObserveRun(shipped.name, shipped.config, shipped.data)


@pytest.fixture(scope="module")
def twin(workload: Workload, directory: Path) -> Outcome:
    return run_twin(workload, directory)


@dataclass(frozen=True)
class FirstTimeStop:
    """The twin's first time-stop exit, numbered as the kill points count: its order, its fill, the first bar
    after its entry's fill, and the bar that reached its deadline."""

    order: int
    fill: int
    bar_after_fill: int
    deadline_bar: int
    entry_fill: datetime


@pytest.fixture(scope="module")
def first_time_stop(twin: Outcome) -> FirstTimeStop:
    with StoreReader(twin.store) as reader:
        events = list(reader.iter_events(kinds=("bar", "order_submit", "order_filled", "decision")))
    decision = next(e for e in events if e.kind == "decision" and e.body["intent"]["source"] == "time_stop")
    exit_cid = decision.body["order"]["client_order_id"]
    entry_fill = datetime.fromisoformat(decision.body["extra"]["entry_fill_ts"])
    deadline = datetime.fromisoformat(decision.body["extra"]["deadline"])
    submits = [e.client_order_id for e in events if e.kind == "order_submit"]
    fills = [e.body["client_order_id"] for e in events if e.kind == "order_filled"]
    bars = [e for e in events if e.kind == "bar"]  # stored at their end; body["ts"] is their open
    opens = [datetime.fromisoformat(bar.body["ts"]) for bar in bars]
    after_fill = next(i for i, opened in enumerate(opens, 1) if opened > entry_fill)
    at_deadline = next(i for i, bar in enumerate(bars, 1) if bar.ts >= deadline)
    assert after_fill < at_deadline and bars[at_deadline - 1].ts == decision.ts
    return FirstTimeStop(
        submits.index(exit_cid) + 1, fills.index(exit_cid) + 1, after_fill, at_deadline, entry_fill
    )


def time_stop_exits(store: Path) -> list[tuple[datetime, str]]:
    with StoreReader(store) as reader:
        return [
            (e.ts, e.body["order"]["client_order_id"])
            for e in reader.iter_events(kinds=("decision",))
            if e.body["intent"]["source"] == "time_stop" and e.body["order"]
        ]


@pytest.mark.parametrize("where", ["bar_after_fill", "bar_before_deadline"])
def test_a_run_stopped_while_the_position_is_open_closes_it_at_the_same_bar(
    workload: Workload, twin: Outcome, directory: Path, first_time_stop: FirstTimeStop, where: str
) -> None:
    first = first_time_stop
    bars = first.bar_after_fill if where == "bar_after_fill" else first.deadline_bar - 1
    store = directory / f"stopped-{where}.db"
    stopped = run([*tradebot_command(workload.args(store)), "--max-bars", str(bars)], REPO)
    assert stopped.returncode == 0, stopped.stderr[-2000:]
    assert time_stop_exits(store) == []  # nothing was due yet
    resumed = run([*tradebot_command(workload.args(store)), "--resume"], REPO)
    assert resumed.returncode == twin.exit_code, resumed.stderr[-2000:]
    with StoreReader(store) as reader:
        starts = [e.body["resumed_after"] for e in reader.iter_events(kinds=("run_start",))]
    assert len(starts) == 2 and datetime.fromisoformat(starts[1]) >= first.entry_fill, starts
    # the deadline came from the store: the exit at the twin's bar, once, and everything else equal
    assert time_stop_exits(store) == time_stop_exits(twin.store)
    assert read_outcome(store).differences(twin) == []
    assert first_difference(outcome(store), outcome(twin.store)) is None


TRIALS = [
    ("deadline_bar", "bar"),
    ("write_ahead", "write_ahead"),
    ("submit", "submit"),
    ("fill", "fill"),
]


@pytest.mark.parametrize(("where", "point"), TRIALS)
def test_a_run_killed_around_a_time_stop_restarts_to_the_same_outcome(
    workload: Workload, twin: Outcome, directory: Path, first_time_stop: FirstTimeStop, where: str, point: str
) -> None:
    first = first_time_stop
    n = {"deadline_bar": first.deadline_bar, "write_ahead": first.order, "submit": first.order,
         "fill": first.fill}[where]
    result = run_trial(workload, point, n, "KILL", twin, directory)
    # no order sent twice, no fill lost or invented, the same orders, fills, decisions, PnL and positions (an
    # order the kill caught between its write-ahead and the venue's answer is adopted at the restart, so its
    # acknowledgement is not an event of the store: equal, not event for event)
    assert_ends_as_the_twin(result)
    exits = time_stop_exits(directory / f"{workload.name}-{point}-{n}-KILL.db")
    assert exits == time_stop_exits(twin.store)  # each time-stop exit decided once, at the twin's bar
