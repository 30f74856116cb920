"""Post-trade learning on real bars: the ES week (CME ESZ13) traded as MES, one RTH session a day through
the real command, with the simulated venue charging 15 bps and slipping 15 bps, so each day's median
implementation shortfall is above 18 bps. The entry cost gate is on (buffer 0 bps); each session close
raises MES's buffer by exactly its daily bound (3 bps): 3, 6, 9 after Monday, Tuesday, Wednesday. The next
day's run applies it (its decisions name the version and value, its cost verdicts use it); learning the same
day again changes nothing; a rollback puts the previous version back byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import REPO, SAMPLE, run_env, tradebot

from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(600)
DAYS = ("2013-10-07", "2013-10-08", "2013-10-09")
BUFFER_ENV = "TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIQUIDITY__ENTRY_COST_BUFFER_BPS"
LIMITS = "TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__"


def _config(where: Path) -> Path:
    text = (REPO / "config" / "tradebot.toml").read_text()
    text = text.replace("slippage_bps = 1.0", "slippage_bps = 15.0")
    text = text.replace("fee_bps = 0.5", "fee_bps = 15.0")
    text = text.replace('constitution = "config/constitution.yaml"',
                        f'constitution = "{REPO / "config" / "constitution.yaml"}"')
    text += "\n[learning]\nenabled = true\nmin_tca_samples = 3\nmin_trades = 3\n"
    path = where / "tradebot.toml"
    path.write_text(text)
    return path


def _day(where: Path, day: str) -> Path:
    header, *rows = SAMPLE.read_text().splitlines()
    path = where / day / "bars.csv"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join([header, *(r for r in rows if r.startswith((f"{day}T1", f"{day}T2")))]) + "\n")
    return path


def _events(store: Path, *kinds: str) -> list[Any]:
    with StoreReader(store) as reader:
        return list(reader.iter_events(kinds=list(kinds)))


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    where = tmp_path_factory.mktemp("learning")
    config = _config(where)
    # the costs set here lose more than MES's $30 daily loss cap allows, which would halt the day (exit 5)
    env = {**run_env(where / "run"), BUFFER_ENV: "0", LIMITS + "DAILY_LOSS_CAP_USD": "500",
           LIMITS + "MAX_CONSECUTIVE_LOSSES": "10"}
    overrides = where / "run" / "learning" / "learned_overrides.json"
    out: dict[str, Any] = {"config": config, "env": env, "file": overrides, "stores": [], "bytes": []}
    for day in DAYS:
        store = where / day / "session.db"
        data = _day(where, day)
        done = tradebot("run", "--config", str(config), "--data", str(data), "--store", str(store),
                        "--session", "rth", "--quiet", env=env)
        assert done.returncode == 0, done.stderr
        out["stores"].append(store)
        out["bytes"].append(overrides.read_bytes())
    return out


def test_each_close_raises_the_buffer_by_exactly_its_daily_bound(week: dict[str, Any]) -> None:
    for n, store in enumerate(week["stores"], start=1):
        changes = [e.body for e in _events(store, "learning_override")]
        assert len(changes) == 1
        change = changes[0]
        assert change["parameter"] == "entry_cost_buffer_bps" and change["symbol"] == "MES"
        assert (change["from"], change["to"], change["version"]) == (str(3 * (n - 1)), str(3 * n), n)
        assert change["reason"] == "IS_PERSISTENTLY_HIGH" and change["code"] == "LEARNING_OVERRIDE"
        assert float(change["metrics"]["is_bps_median"]) > 18 and change["metrics"]["filled_orders"] >= 3
        close = next(e.body for e in _events(store, "session_close"))
        assert close["ok"] and close["learning"]["version"] == n and close["learning"]["written"]
        version = json.loads(week["bytes"][n - 1])
        assert version["version"] == n and version["day"] == DAYS[n - 1]
        assert [o["value"] for o in version["overrides"]] == [str(3 * n)]


def test_the_next_day_decides_with_the_learned_buffer(week: dict[str, Any]) -> None:
    for n, store in enumerate(week["stores"]):
        applied = [e.body for e in _events(store, "learned_overrides")]
        assert [a["version"] for a in applied] == [n]
        decisions = [e.body for e in _events(store, "decision")]
        assert decisions
        expected = {"version": n, "values": {"entry_cost_buffer_bps": str(3 * n)}} if n else {"version": 0}
        assert all(d["learned_overrides"] == expected for d in decisions)
        cost = [v["details"]["entry_cost"]["buffer_bps"] for d in decisions for v in d["verdicts"]
                if v["gate"] == "liquidity_regime" and "entry_cost" in v["details"]]
        assert cost and set(cost) == {str(3 * n)}


def test_learning_the_same_day_again_changes_nothing(week: dict[str, Any]) -> None:
    again = tradebot("learn", "--store", str(week["stores"][-1]), "--config", str(week["config"]),
                     env=week["env"])
    assert again.returncode == 0, again.stderr
    assert "learned before (version 3)" in again.stdout
    assert week["file"].read_bytes() == week["bytes"][-1]
    assert len(_events(week["stores"][-1], "learning_override")) == 1


def test_a_rollback_restores_the_previous_version_exactly(week: dict[str, Any]) -> None:
    back = tradebot("learn", "--rollback", "--config", str(week["config"]), env=week["env"])
    assert back.returncode == 0, back.stderr
    assert "version 2 in force again (was 3)" in back.stdout
    assert week["file"].read_bytes() == week["bytes"][1]
    forward = tradebot("learn", "--rollback", "--to", "3", "--config", str(week["config"]), env=week["env"])
    assert forward.returncode == 0 and week["file"].read_bytes() == week["bytes"][2]
