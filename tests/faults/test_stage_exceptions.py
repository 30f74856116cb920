"""An exception in any stage fails closed: one line, exit 70, HALTED recorded and alerted, no order after it,
and a restart on the same store stays HALTED (and sends no order) until an operator resumes.

Each case runs the real command in a subprocess (``inject_child.py``) with one function of the daemon made
to raise at its N-th call, on a slice of the bundled real ES week.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tradebot.store import StoreReader

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ES_WEEK = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"
SLICE_BARS = 3000  # Sunday evening to Tuesday afternoon: orders before and after every fault point


@dataclass(frozen=True)
class Case:
    target: str  # module:qualname of the function that raises
    n: int  # at its n-th call
    exception: str
    stage: str  # the stage task the error escapes from
    part: str  # the part of the pipeline the one line names
    code: str  # the reason code of the halt
    intents: bool = False  # with an external intent file

    @property
    def id(self) -> str:
        return self.part.replace(" ", "_")


CASES = [
    Case("tradebot.ingest.validation:BarValidator.check", 1500, "ValueError", "ingest", "ingest",
         "UNKNOWN_ERROR_HALT"),
    Case("tradebot.signals.ensemble:Ensemble.on_bar", 1500, "ZeroDivisionError", "signals", "signals",
         "INVARIANT_HALT"),
    Case("tradebot.sizing.adapter:EngineSizer.__call__", 150, "TypeError", "decide", "sizer",
         "PROGRAMMING_ERROR_HALT"),
    Case("tradebot.pipeline.portfolio:Portfolio.mark", 2000, "KeyError", "decide", "portfolio",
         "PROGRAMMING_ERROR_HALT"),
    Case("tradebot.pipeline.store_recorder:StoreRecorder.record", 2500, "RuntimeError", "decide", "recorder",
         "UNKNOWN_ERROR_HALT"),
    # a network error that escaped the OMS: nothing is left to retry it, so it halts (INTERNAL_ERROR)
    Case("tradebot.oms.manager:OrderManager.submit", 2, "ConnectionError", "decide", "oms", "INTERNAL_ERROR"),
    Case("tradebot.pipeline.engine:DecisionEngine.on_broker_event", 3, "AttributeError", "decide",
         "broker events", "PROGRAMMING_ERROR_HALT"),
    # an intent file is read before the first bar (outside the stage tasks, in the run itself)
    Case("tradebot.intents.source:JsonlIntentSource.parse_line", 2, "OverflowError", "startup", "intents",
         "INVARIANT_HALT", intents=True),
]

INTENTS = "".join(
    json.dumps({
        "schema_version": "1.1",
        "intent_id": f"ext-{i}",
        "symbol": "MES",
        "side": "BUY",
        "quantity": "1",
        "reference_price": "1675.00",
        "confidence": 0.9,
        "ts": f"2013-10-07T14:{30 + i}:00Z",
    }) + "\n"
    for i in range(3)
)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    header, *rows = ES_WEEK.read_text().splitlines()
    path = tmp_path_factory.mktemp("data") / "es_slice.csv"
    path.write_text("\n".join([header, *rows[:SLICE_BARS]]) + "\n")
    return path


def _env(run_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEBOT_")}
    env["TRADEBOT_RUN__RUN_DIR"] = str(run_dir)
    return env


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def _args(case: Case, data: Path, store: Path) -> list[str]:
    args = ["replay", "--data", str(data), "--out", str(store), "-q"]
    if case.intents:
        intents = store.with_name("intents.jsonl")
        intents.write_text(INTENTS)
        args += ["--intents", str(intents)]
    return args


def _events(store: Path) -> list[Any]:
    with StoreReader(store) as reader:
        return list(reader.iter_events())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_an_exception_in_a_stage_fails_closed_and_a_restart_stays_halted(
    case: Case, data: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store.db"
    env = _env(tmp_path / "run")
    args = _args(case, data, store)

    child = [sys.executable, str(HERE / "inject_child.py")]
    failed = _run([*child, "raise", case.target, str(case.n), case.exception, "--", *args], env)
    # one clear line naming the part, the stage and the error; no traceback
    assert failed.returncode == 70, failed.stdout[-2000:] + failed.stderr[-3000:]
    assert "Traceback" not in failed.stderr
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, failed.stderr
    line = lines[0]
    assert line.startswith(f"tradebot: internal error in {case.part}"), line
    if case.stage != case.part:
        assert f"({case.stage} stage)" in line, line
    assert f"{case.exception}: " in line and f"injected fault #{case.n} " in line, line
    assert f"[{case.code}]" in line, line

    # recorded: the error, then HALTED (held for an operator) with the same reason and error, then ALERT_HALT
    events = _events(store)
    errors = [e for e in events if e.kind == "internal_error"]
    assert len(errors) == 1, errors
    error = errors[0]
    assert error.body["code"] == case.code and error.body["stage"] == case.stage
    assert error.body["part"] == case.part and "injected fault" in error.body["error"]
    halts = [e for e in events if e.kind == "trading_state" and e.seq > error.seq]
    assert len(halts) == 1, halts
    halt = halts[0].body
    assert halt["to"] == "HALTED" and halt["code"] == case.code and halt["machine"]["hold"] == "OPERATOR"
    assert halt["details"]["stage"] == case.stage and "injected fault" in halt["details"]["error"]
    alerts = [e for e in events if e.kind == "ALERT_HALT" and e.seq > error.seq]
    assert len(alerts) == 1 and alerts[0].body["details"]["halt_code"] == case.code
    # nothing was decided or sent after the error
    after = [e.kind for e in events if e.seq > error.seq]
    assert after == ["trading_state", "ALERT_HALT"], after
    orders_before = [e for e in events if e.kind == "order_submit"]
    last_seq = events[-1].seq

    # a restart on the same store (nothing injected) comes up HALTED and sends no order
    again = _run([sys.executable, "-m", "tradebot.cli", *args, "--resume"], env)
    assert again.returncode == 5, again.stdout[-2000:] + again.stderr[-2000:]
    assert "Traceback" not in again.stderr
    shown = " ".join(again.stdout.split())  # the summary is a table: its columns are aligned with spaces
    assert f"trading state: HALTED since {halt['ts']} ({case.code}" in shown, again.stdout
    restarted = [e for e in _events(store) if e.seq > last_seq]
    assert any(e.kind == "bar" for e in restarted)  # it did run on
    assert not [e for e in restarted if e.kind == "order_submit"]
    decided = [e.body for e in restarted if e.kind == "decision"]
    assert decided and all(d["outcome"] == "BLOCKED" for d in decided), decided[:3]
    assert {d["code"] for d in decided} <= {"TRADING_HALTED", "MARKET_CLOSED_BLOCK", "NO_TRADE_WINDOW_BLOCK"}
    assert orders_before == [e for e in _events(store) if e.kind == "order_submit"]

    # status shows why: the reason code, since when, what holds it, and the error
    status = _run([sys.executable, "-m", "tradebot.cli", "status", "--store", str(store)], env)
    assert status.returncode == 0, status.stderr
    assert f"trading state: HALTED since {halt['ts']} ({case.code}; held until an operator resumes" in (
        " ".join(status.stdout.split())
    )
    assert f"error: {case.exception}: " in status.stdout and f"injected fault #{case.n} " in status.stdout
    assert f"stage: {case.stage}" in status.stdout and f"part: {case.part}" in status.stdout


def test_an_operator_resume_lifts_a_fail_closed_halt_on_the_restarted_daemon(tmp_path: Path) -> None:
    # four weeks of the real week's bars (each copy a week later): the restarted daemon runs long enough
    header, *rows = ES_WEEK.read_text().splitlines()
    lines = [header]
    for week in range(4):
        for row in rows:
            ts, rest = row.split(",", 1)
            when = datetime.fromisoformat(ts.replace("Z", "+00:00")) + timedelta(days=7 * week)
            lines.append(f"{when.strftime('%Y-%m-%dT%H:%M:%SZ')},{rest}")
    data = tmp_path / "four_weeks.csv"
    data.write_text("\n".join(lines) + "\n")
    store = tmp_path / "store.db"
    run_dir = tmp_path / "run"
    env = _env(run_dir)
    args = ["replay", "--data", str(data), "--out", str(store), "-q"]
    child = [sys.executable, str(HERE / "inject_child.py")]
    inject = ["raise", "tradebot.pipeline.portfolio:Portfolio.mark", "1000", "KeyError"]
    failed = _run([*child, *inject, "--", *args], env)
    assert failed.returncode == 70, failed.stderr
    decided_before = _count(store, "decision")

    restarted = subprocess.Popen(
        [sys.executable, "-m", "tradebot.cli", *args, "--resume"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while (
            _count(store, "decision") < decided_before + 50
            and time.monotonic() < deadline
            and restarted.poll() is None
        ):
            time.sleep(0.05)  # halted: the restart decides (and blocks) before the operator steps in
        assert restarted.poll() is None, "the restarted run finished before the resume"
        resumed = _run(
            [sys.executable, "-m", "tradebot.cli", "resume", "--reason", "bug understood",
             "--runtime-dir", str(run_dir / "control")],
            env,
        )
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        _, err = restarted.communicate(timeout=300)
    finally:
        if restarted.poll() is None:
            restarted.kill()
    assert "Traceback" not in err
    events = _events(store)
    lifted = [e for e in events if e.kind == "trading_state" and e.body["code"] == "TRADING_RESUMED"
              and e.body["details"].get("by") == "operator"]
    assert len(lifted) == 1 and lifted[0].body["from"] == "HALTED"
    assert lifted[0].body["details"]["reason"] == "bug understood"
    halted_at = next(e.seq for e in events if e.kind == "internal_error")
    assert not [e for e in events if e.kind == "order_submit" and halted_at < e.seq < lifted[0].seq]
    assert [e for e in events if e.kind == "order_submit" and e.seq > lifted[0].seq]  # it trades again


def _count(store: Path, kind: str) -> int:
    try:
        with StoreReader(store) as reader:
            return reader.count_by_kind().get(kind, 0)
    except Exception:  # the store is being written by the daemon: try again on the next poll
        return 0
