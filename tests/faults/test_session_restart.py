"""A ``--session`` run killed (SIGKILL) at a deterministic point, then started again on the same store.

The window is fixed when the session starts: a restart keeps it and trades nothing after its close. The
close sequence is resumable: a restart after the close began (or after the window ended without it) does
the steps left, once each, and writes the report; no cancel or flatten order is sent twice.

Each kill is a hook in the real command (``fault_child.py``), never a race against the replay.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import tradebot
from tradebot.store import StoredEvent, StoreReader

pytestmark = pytest.mark.timeout(300)

REPO = Path(tradebot.__file__).resolve().parents[2]
SAMPLE = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"
CHILD = Path(__file__).resolve().parent / "fault_child.py"
CONSTITUTION = REPO / "config" / "constitution.yaml"


@dataclass(frozen=True)
class Scenario:
    """One ``tradebot run --session`` command: its data, store, run directory and environment."""

    args: tuple[str, ...]
    store: Path
    run_dir: Path
    env: dict[str, str]

    def run(self, *kill: str) -> subprocess.CompletedProcess[str]:
        command = [str(CHILD), *kill, "KILL", "--"] if kill else ["-m", "tradebot.cli"]
        return subprocess.run(
            [sys.executable, *command, *self.args], cwd=REPO, capture_output=True, text=True,
            timeout=240, env=self.env,
        )

    def events(self) -> list[StoredEvent]:
        with StoreReader(self.store) as reader:
            return list(reader.iter_events())


def _lines(prefixes: tuple[str, ...], excluded: tuple[str, ...] = ()) -> str:
    header, *rows = SAMPLE.read_text().splitlines()
    kept = [r for r in rows if r.startswith(prefixes) and not r.startswith(excluded)]
    return "\n".join([header, *kept]) + "\n"


def _scenario(where: Path, data: str, spec: str, *extra: str, env: dict[str, str] | None = None) -> Scenario:
    where.mkdir(parents=True, exist_ok=True)
    (where / "data.csv").write_text(data)
    store = where / "session.db"
    run_dir = where / "run"
    environment = {**os.environ, "TRADEBOT_RUN__RUN_DIR": str(run_dir), **(env or {})}
    args = ("run", "--mode", "observe", "--data", str(where / "data.csv"), "--store", str(store),
            "--session", spec, "--quiet", *extra)
    return Scenario(args, store, run_dir, environment)


def _close_scenario(where: Path) -> Scenario:
    """Monday's RTH session with data up to 19:00Z (the window closes at 20:00Z, so the last bar of the
    window never comes and the close sequence has work): a resting DAY limit for the close to cancel (0.3 %
    under the market: inside the collar the open's THIN regime narrows to 0.4 %), and a position bought at
    18:50Z for it to flatten. The strategy's own entries are held back (confidence)."""
    where.mkdir(parents=True, exist_ok=True)
    text = CONSTITUTION.read_text()
    mes = text.index("\n  MES:")
    tail = (text[mes:].replace("max_trades_per_day: 2", "max_trades_per_day: 20", 1)
            .replace("position_limit: 1 ", "position_limit: 2 ", 1)
            .replace("      allocation_enabled: false\n",
                     "      allocation_enabled: false\n      min_confidence: 0.99\n", 1))
    (where / "constitution.yaml").write_text(text[:mes] + tail)
    intents = [
        {"schema_version": "1.1", "intent_id": "ext-rest", "symbol": "MES", "side": "BUY", "quantity": "1",
         "order_type": "LIMIT", "limit_price": "1664.00", "tif": "DAY", "reference_price": "1669.75",
         "confidence": 1.0, "ts": "2013-10-07T13:40:00Z",
         "exit_plan": {"stop_loss": "1661.50", "take_profit": "1674.00"}},
        {"schema_version": "1.1", "intent_id": "ext-hold", "symbol": "MES", "side": "BUY", "quantity": "1",
         "reference_price": "1676.75", "confidence": 1.0, "ts": "2013-10-07T18:50:00Z",
         "exit_plan": {"stop_loss": "1674.50", "take_profit": "1690.00"}},
    ]
    (where / "intents.jsonl").write_text("".join(json.dumps(i) + "\n" for i in intents))
    return _scenario(where, _lines(("2013-10-07T1",), ("2013-10-07T19",)), "rth",
                     "--intents", str(where / "intents.jsonl"),
                     env={"TRADEBOT_GATES__CONSTITUTION": str(where / "constitution.yaml")})


@pytest.fixture(scope="module")
def close_twin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, subprocess.CompletedProcess[str]]:
    """The close scenario run once without a kill: what every restarted run must end like."""
    twin = _close_scenario(tmp_path_factory.mktemp("twin"))
    return twin, twin.run()


def _kinds(events: list[StoredEvent]) -> Counter[str]:
    return Counter(e.kind for e in events)


def _report(scenario: Scenario) -> tuple[dict[str, Any], dict[str, str]]:
    day = scenario.run_dir / "reports" / "2013-10-07"
    summary = json.loads((day / "summary.json").read_text())
    execution = json.loads((day / "execution.json").read_text())
    return summary, {row["client_order_id"]: row["status"] for row in execution["orders"]}


def test_the_close_scenario_has_a_cancel_and_a_flatten_to_do(
    close_twin: tuple[Scenario, subprocess.CompletedProcess[str]],
) -> None:
    twin, result = close_twin
    events = twin.events()
    close = next(e.body for e in events if e.kind == "session_close")
    assert close["day_orders_canceled"] and close["flatten_result"]["MES"]["blocked"] is None
    # the replay has no bar after 19:00Z, so the flatten order rests at the simulated venue: the close
    # says so, and the run exits 4 (the same in every restarted twin)
    assert close["positions_after"] == {"MES": "1"} and result.returncode == 4, result.stderr


@pytest.mark.parametrize(
    ("point", "n"),
    [
        ("close_started", 1),  # the window's data is done, nothing of the close is stored yet
        ("close_step_work", 1),  # DAY orders canceled, not yet stored as done
        ("close_step", 1),
        ("close_step_work", 2),  # the flatten order sent, not yet stored as done
        ("close_step", 2),
        ("close_step", 3),
        ("close_step", 4),
        ("close_reports", 1),  # the session_close event committed, the reports not written
        ("close_step", 5),  # the reports written, the close not yet marked complete
    ],
)
def test_a_kill_during_the_close_is_finished_by_the_restart_exactly_once(
    tmp_path: Path, close_twin: tuple[Scenario, subprocess.CompletedProcess[str]], point: str, n: int
) -> None:
    twin, twin_result = close_twin
    scenario = _close_scenario(tmp_path)
    killed = scenario.run(point, str(n))
    assert killed.returncode == -9, killed.stderr
    restarted = scenario.run()
    assert restarted.returncode == twin_result.returncode, restarted.stderr
    assert "MARKET_CLOSED" not in restarted.stderr

    events, expected = scenario.events(), twin.events()
    kinds = _kinds(events)
    assert kinds["session_window"] == 1 and kinds["session_close"] == 1
    assert kinds["session_close_started"] == 1 and kinds["session_close_done"] == 1
    submitted = [e.client_order_id for e in events if e.kind == "order_submit"]
    assert len(submitted) == len(set(submitted)) and set(submitted) == {
        e.client_order_id for e in expected if e.kind == "order_submit"
    }  # the flatten order once, with the same client order id as the uninterrupted run
    canceled = [e.client_order_id for e in events if e.kind == "order_canceled"]
    assert len(canceled) == len(set(canceled))
    assert set(canceled) == {e.client_order_id for e in expected if e.kind == "order_canceled"}
    close = next(e.body for e in events if e.kind == "session_close")
    twin_close = next(e.body for e in expected if e.kind == "session_close")
    for key in ("day_orders_canceled", "positions_after", "open_orders_after", "ok"):
        assert close[key] == twin_close[key], key
    flattened = {s: r["client_order_id"] for s, r in close["flatten_result"].items()}
    assert flattened == {s: r["client_order_id"] for s, r in twin_close["flatten_result"].items()}

    summary, statuses = _report(scenario)
    twin_summary, twin_statuses = _report(twin)
    assert statuses == twin_statuses
    for key in ("orders", "fills", "cancels", "positions", "realized_pnl", "session_closes"):
        assert summary[key] == twin_summary[key], key
    assert summary["session_closes"] == 1


def test_a_restart_after_the_window_ended_unclosed_closes_it_and_opens_no_new_one(tmp_path: Path) -> None:
    # Monday's whole RTH session; the kill comes after the window's last bar, before the close began
    scenario = _scenario(tmp_path, _lines(("2013-10-07T1", "2013-10-07T2")), "rth")
    killed = scenario.run("close_started", "1")
    assert killed.returncode == -9, killed.stderr
    assert not (scenario.run_dir / "reports").exists()
    restarted = scenario.run()
    assert restarted.returncode == 0, restarted.stderr
    assert "MARKET_CLOSED" not in restarted.stderr
    events = scenario.events()
    kinds = _kinds(events)
    assert kinds["session_window"] == 1 and kinds["session_close"] == 1 and kinds["session_close_done"] == 1
    close = next(e for e in events if e.kind == "session_close")
    assert close.body["ok"] is True and close.body["reason"] == "session_end"
    window = next(e.body for e in events if e.kind == "session_window")
    assert max(e.ts for e in events if e.kind == "bar") <= datetime.fromisoformat(window["close"])
    summary, _ = _report(scenario)
    assert summary["session_closes"] == 1 and summary["positions"] == {"MES": "0"}


def test_a_restarted_24h_session_keeps_the_window_it_started_with(tmp_path: Path) -> None:
    # a 24h session from Sunday 2013-10-06T22:00Z, killed at Monday ~13:00Z, started again
    scenario = _scenario(tmp_path, SAMPLE.read_text(), "24h")
    killed = scenario.run("bar", "900")
    assert killed.returncode == -9, killed.stderr
    restarted = scenario.run()
    assert restarted.returncode == 0, restarted.stderr
    events = scenario.events()
    windows = [e.body for e in events if e.kind == "session_window"]
    assert len(windows) == 1  # fixed at the start; the restart records none of its own
    assert windows[0]["open"] == "2013-10-06T22:00:00+00:00"
    assert windows[0]["close"] == "2013-10-07T22:00:00+00:00"
    close = datetime.fromisoformat(windows[0]["close"])
    assert max(e.ts for e in events if e.kind == "bar") <= close  # nothing traded after the window
    assert all(e.ts <= close for e in events if e.kind in ("decision", "order_submit"))
    assert _kinds(events)["run_start"] == 2 and _kinds(events)["session_close"] == 1
