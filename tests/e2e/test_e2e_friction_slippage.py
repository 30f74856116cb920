"""Friction torture on real bars: the ES Globex session of Tuesday 2013-10-08 (22:00 Monday -> 21:14 UTC,
1,366 one-minute bars of the bundled ESZ13 week) replayed through the live pipeline again and again with the
simulated venue's slippage raised step by step (0 -> 25 bps against the taker on every market and stop fill).

This is the venue's friction (slippage measured on the orders sent); the entry cost gate's own requirement
raised step by step is ``test_e2e_friction.py``. With the cost gate off (the shipped default), the controls
that refuse an entry for what it costs are LIQ_PARTICIPATION_BLOCK, LIQ_REGIME_THIN_SCALE and EQS_BLOCK.
Slippage reaches the execution quality score
(EQS: adverse slippage over ``slippage_tolerance_bps`` 5 costs up to 0.5 of an order's score) and the
constitution's floor EQS >= 0.75 (the shipped value) blocks entries with EQS_BLOCK; its blocks in turn feed
the quarantine's cost-block rate. The run is the benchmark's ``busy`` workload (profile aggressive, every
gate of the default chain, limits that let orders flow) with that floor restored.

Measured (decisions stored, entries only):

    slippage bps    0    2    4    6  6.5    8   10   15   25
    EQS_BLOCK       0    0    0   21  193  355  384  384  384
    entries sent   44   44   44   43   26   17   15   15   15

From 10 bps up, no entry is sent while the EQS has a filled order to judge: each entry sent went out with EQS
1.0 because no order had been submitted in the hour before it (``EqsConfig.max_age_s``: a score recovers when
its orders age out, so a blocked instrument gets one probe an hour). A measured cost can only block after
it is measured; there is no gate that blocks the first entry on an expected cost. Exits are never blocked:
every reduce-only decision is approved at every level, and every position opened is closed again (the
session's last entry stays open at the end of the data).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest
from e2e_helpers import REPO, SAMPLE

from tradebot.domain import reasons
from tradebot.pipeline.app import RunOptions
from tradebot.pipeline.session import run_session
from tradebot.risk.execution_quality import EqsConfig
from tradebot.risk.rules import COST_BLOCK_CODES
from tradebot.settings import load_settings
from tradebot.store import StoreReader

sys.path.insert(0, str(REPO))
from bench.config import write_busy_config

pytestmark = pytest.mark.timeout(180)

SESSION = ("2013-10-07T22:00", "2013-10-08T21:15")  # bar open times, [from, to)
LADDER = (0.0, 2.0, 4.0, 6.0, 6.5, 8.0, 10.0, 15.0, 25.0)  # [broker.sim] slippage_bps
EQS_FLOOR = "0.75"
ALL_BLOCKED_FROM = 10.0  # measured: the lowest rung where every entry sent is a probe of an empty EQS window


@dataclass(frozen=True, slots=True)
class Run:
    slippage_bps: float
    entries: list[tuple[datetime, dict[str, Any]]]  # (decided at, decision record) of non-reduce-only intents
    exits: list[dict[str, Any]]
    submits: list[tuple[datetime, dict[str, Any]]]
    fills: list[dict[str, Any]]
    quarantines: list[dict[str, Any]]

    @property
    def codes(self) -> Counter[str]:
        return Counter(d["code"] for _, d in self.entries)


def _session_bars(directory: Path) -> Path:
    header, *rows = SAMPLE.read_text().splitlines()
    data = directory / "session.csv"
    data.write_text("\n".join([header, *(r for r in rows if SESSION[0] <= r[:16] < SESSION[1])]) + "\n")
    return data


def _replay(directory: Path, data: Path, slippage_bps: float) -> Run:
    config = write_busy_config(directory / "config")
    constitution = directory / "config" / "constitution.yaml"
    text = constitution.read_text()
    assert "eqs_min: 0.0" in text
    constitution.write_text(text.replace("eqs_min: 0.0", f"eqs_min: {EQS_FLOOR}"))
    toml = config.read_text()
    assert "slippage_bps = 1.0" in toml
    config.write_text(toml.replace("slippage_bps = 1.0", f"slippage_bps = {slippage_bps}"))
    store = directory / "replay.db"
    options = RunOptions(mode="replay", data=data, symbol="BENCH", store=store, quiet=True)
    anyio.run(run_session, load_settings(config), options)
    entries, exits, submits, fills, quarantines = [], [], [], [], []
    kinds = ("decision", "order_submit", "order_filled", "quarantine")
    with StoreReader(store) as reader:
        for event in reader.iter_events(kinds=kinds):
            body = event.body
            if event.kind == "decision":
                if body["intent"]["reduce_only"]:
                    exits.append(body)
                else:
                    entries.append((event.ts, body))
            elif event.kind == "order_submit":
                submits.append((event.ts, body))
            elif event.kind == "order_filled":
                fills.append(body)
            else:
                quarantines.append(body)
    return Run(slippage_bps, entries, exits, submits, fills, quarantines)


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> list[Run]:
    root = tmp_path_factory.mktemp("friction")
    data = _session_bars(root)
    return [_replay(root / f"slippage-{bps}", data, bps) for bps in LADDER]


def _eqs_at(record: dict[str, Any]) -> float:
    return float(next(v for v in record["verdicts"] if v["gate"] == "eqs_floor")["details"]["eqs"])


def _probes(run: Run) -> list[bool]:
    """For each entry sent: was it decided with no order submitted in the EQS's age window before it (the
    score then has nothing to judge and reads 1.0)?"""
    horizon = timedelta(seconds=EqsConfig().max_age_s)
    out = []
    for at, record in run.entries:
        if record["code"] != reasons.APPROVED:
            continue
        before = [ts for ts, _ in run.submits if ts < at]
        empty = not before or at - before[-1] > horizon
        out.append(empty and _eqs_at(record) == 1.0)
    return out


def test_low_friction_entries_pass(ladder: list[Run]) -> None:
    for run in ladder:
        if run.slippage_bps <= 4:
            assert run.codes[reasons.EQS_BLOCK] == 0
            assert run.codes[reasons.APPROVED] >= 40, (run.slippage_bps, run.codes)


def test_the_cost_block_count_rises_with_friction(ladder: list[Run]) -> None:
    assert reasons.EQS_BLOCK in COST_BLOCK_CODES
    counts = [run.codes[reasons.EQS_BLOCK] for run in ladder]
    assert counts == sorted(counts), counts  # never fewer blocks for more friction
    assert counts[0] == 0 and counts[-1] > 300, counts
    assert len(set(counts)) >= 4, counts  # it rises in steps, not one cliff
    sent = [run.codes[reasons.APPROVED] for run in ladder]
    assert sent == sorted(sent, reverse=True), sent
    for run in ladder:  # every block was the floor's, on a score the friction pulled under it
        for _, record in run.entries:
            if record["code"] == reasons.EQS_BLOCK:
                assert _eqs_at(record) < float(EQS_FLOOR)


def test_above_the_level_no_entry_goes_out_on_a_measured_score(ladder: list[Run]) -> None:
    first = next(run.slippage_bps for run in ladder if all(_probes(run)))
    assert first == ALL_BLOCKED_FROM, first
    for run in ladder:
        if run.slippage_bps < ALL_BLOCKED_FROM:
            continue
        # every entry is blocked by a cost control or a quarantine the cost blocks set off, or was a probe
        assert set(run.codes) <= {reasons.EQS_BLOCK, reasons.SYMBOL_QUARANTINED, reasons.APPROVED}, run.codes
        assert {q["trigger"] for q in run.quarantines} == {"cost_block_rate"}
        assert all(_probes(run)) and len(_probes(run)) <= 24  # at most one an hour of the session
        assert run.codes[reasons.EQS_BLOCK] > 20 * run.codes[reasons.APPROVED]


def test_exits_still_work_at_every_level(ladder: list[Run]) -> None:
    for run in ladder:
        assert run.exits or run.fills
        assert all(record["code"] == reasons.APPROVED for record in run.exits), run.slippage_bps
        position = Decimal(0)
        flats = 0  # times a fill brought the position back to zero
        for fill in run.fills:
            before = position
            position += Decimal(fill["quantity"]) * (1 if fill["side"] == "BUY" else -1)
            flats += before != 0 and position == 0
        entries_sent = sum(1 for _, s in run.submits if not s["reduce_only"])
        assert abs(position) <= 1
        assert flats == entries_sent - (position != 0), (run.slippage_bps, flats, entries_sent, position)
