"""The participation cap on real volume: the bundled ES week (CME, 2013-10), traded on the 24/7 calendar with
the benchmark's ``busy`` limits and entries of ~40 contracts, against the default cap of 1.5 % of the last
60 bars' volume. The overnight hours (a few hundred contracts an hour) cannot take them; the day session
can. In ``scale`` mode the same entries are cut down to the cap instead."""

from __future__ import annotations

import csv
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from statistics import median

import pytest
from e2e_helpers import REPO, SAMPLE, run_env, tradebot

from tradebot.store import StoreReader

sys.path.insert(0, str(REPO))
from bench.config import write_busy_config

pytestmark = pytest.mark.timeout(300)
CAP = Decimal("0.015")


def _replay(directory: Path, mode: str) -> Path:
    config = write_busy_config(directory, fraction="0.004")  # 0.4 % of $100k over an 8-tick stop: 40 lots
    constitution = directory / "constitution.yaml"
    text = constitution.read_text().replace("position_limit: 1", "position_limit: null")
    constitution.write_text(_with_liquidity(text, mode))
    store = directory / "s.db"
    done = tradebot("replay", "--config", str(config), "--data", str(SAMPLE), "--store", str(store), "-q",
                    env=run_env(directory / "run"))
    assert done.returncode == 0, done.stderr[-3000:]
    return store


def _with_liquidity(constitution: str, mode: str) -> str:
    """The busy constitution's ``default`` liquidity section with a participation mode (the cap at its
    default, 1.5 %)."""
    section = f"  liquidity:\n    participation_mode: {mode}\n"
    return constitution.replace("  liquidity:\n", section, 1)


def _volumes() -> dict[str, float]:
    with SAMPLE.open() as fh:
        return {row["ts"]: float(row["volume"]) for row in csv.DictReader(fh)}


def _verdicts(store: Path) -> list[tuple[datetime, dict]]:  # type: ignore[type-arg]
    with StoreReader(store) as reader:
        return [
            (event.ts, v)
            for event in reader.iter_events(kinds=("decision",))
            for v in event.body["verdicts"]
            if v["gate"] == "liquidity_participation"
        ]


def test_thin_hours_block_entries_the_day_session_takes(tmp_path: Path) -> None:
    verdicts = _verdicts(_replay(tmp_path, "block"))
    blocked = [(ts, v) for ts, v in verdicts if v["code"] == "LIQ_PARTICIPATION_BLOCK"]
    passed = [(ts, v) for ts, v in verdicts if v["outcome"] == "PASS"]
    assert len(blocked) >= 20 and len(passed) >= 100, (len(blocked), len(passed))
    volumes = list(_volumes().items())
    index = {ts: n for n, (ts, _) in enumerate(volumes)}
    for _, verdict in blocked:
        details = verdict["details"]
        volume = Decimal(details["rolling_volume"])
        assert Decimal(details["quantity"]) > volume * CAP
        assert details["bars"] == 60
    for _, verdict in passed:
        details = verdict["details"]
        assert Decimal(details["participation"]) <= CAP
    # the rolling volume is the file's own: the 60 bars up to the one the decision was made on
    for ts, verdict in (blocked[0], passed[-1]):
        opened = (ts - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")  # decided at the bar's close
        n = index[opened]
        window = sum(v for _, v in volumes[n - 59 : n + 1])
        assert Decimal(verdict["details"]["rolling_volume"]) == Decimal(repr(window))
    # thin hours: the blocked entries met far less volume than the ones that passed
    assert median(float(v["details"]["rolling_volume"]) for _, v in blocked) < median(
        float(v["details"]["rolling_volume"]) for _, v in passed
    ) / 5


def test_scale_mode_cuts_entries_down_to_the_cap(tmp_path: Path) -> None:
    verdicts = _verdicts(_replay(tmp_path, "scale"))
    scaled = [v for _, v in verdicts if v["code"] == "LIQ_PARTICIPATION_SCALE"]
    assert scaled
    for verdict in scaled:
        details = verdict["details"]
        cut = Decimal(details["quantity"]["to"])
        assert cut <= Decimal(details["rolling_volume"]) * CAP
        assert cut / Decimal(details["quantity"]["from"]) >= Decimal("0.25")
    for _, verdict in verdicts:  # what is still blocked could not keep a quarter of itself
        if verdict["code"] == "LIQ_PARTICIPATION_BLOCK":
            details = verdict["details"]
            assert Decimal(details["max_qty"]) // 1 < Decimal(details["quantity"]) * Decimal("0.25")
