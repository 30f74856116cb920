"""The friction torture test on real bars: the ES week replayed as MES with the entry cost gate on, its cost
requirement raised step by step (``liquidity.entry_cost_buffer_bps``, the bps an entry's take-profit must
clear beyond its expected round-trip cost). Low friction: the normal decision flow (10 entries, no cost
block). As friction rises the cost gate blocks more and the entries fall, never the other way; above the
reward the bracket offers (16 ticks, ~24 bps of the price) every entry is blocked by ENTRY_COST_BLOCK and
none is sent; the entries that were sent are still closed (the gate never judges an exit).

Measured on these bars: 0-22 bps: 10 entries; 23 bps: 4 entries, 368 cost blocks; 23.5 bps and above: none,
514 cost blocks."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from e2e_helpers import SAMPLE, run_env, tradebot

from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(600)
BUFFER_ENV = "TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIQUIDITY__ENTRY_COST_BUFFER_BPS"
STEPS = ("0", "22", "23", "23.5", "30")


def replay(tmp: Path, buffer: str) -> dict[str, object]:
    store = tmp / f"buffer-{buffer}.db"
    env = run_env(tmp / f"run-{buffer}")
    env[BUFFER_ENV] = buffer
    done = tradebot("replay", "-q", "--data", str(SAMPLE), "--out", str(store), env=env)
    assert done.returncode == 0, done.stderr
    with StoreReader(store) as reader:
        decisions = [e.body for e in reader.iter_events(kinds=("decision",))]
        counts = reader.count_by_kind()
    entries = [d for d in decisions if not d["intent"]["reduce_only"]]
    return {
        "sent": sum(1 for d in entries if d["order"]),
        "cost_blocks": [d for d in entries if d["code"] == "ENTRY_COST_BLOCK"],
        "exits_blocked": [d for d in decisions if d["intent"]["reduce_only"] and d["outcome"] == "BLOCKED"],
        "fills": counts.get("order_filled", 0),
        "closed": counts.get("trade_closed", 0),
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    tmp = tmp_path_factory.mktemp("friction")
    return {buffer: replay(tmp, buffer) for buffer in STEPS}


def test_low_friction_is_the_normal_flow(runs: dict[str, dict[str, object]]) -> None:
    low = runs["0"]
    assert low["sent"] == 10 and low["cost_blocks"] == []


def test_rising_friction_blocks_more_and_sends_less(runs: dict[str, dict[str, object]]) -> None:
    sent = [runs[b]["sent"] for b in STEPS]
    blocks = [len(runs[b]["cost_blocks"]) for b in STEPS]
    assert sent == sorted(sent, reverse=True) and blocks == sorted(blocks)
    assert 0 < runs["23"]["sent"] < runs["0"]["sent"]


def test_above_the_reward_every_entry_is_blocked_by_its_cost(runs: dict[str, dict[str, object]]) -> None:
    for buffer in ("23.5", "30"):
        high = runs[buffer]
        assert high["sent"] == 0 and high["fills"] == 0
        blocks = high["cost_blocks"]
        assert blocks  # the gate was reached and refused
        for decision in blocks:
            verdict = next(v for v in decision["verdicts"] if v["outcome"] == "BLOCK")
            details = verdict["details"]
            assert verdict["gate"] == "liquidity_regime"
            assert Decimal(details["reward_bps"]) < Decimal(details["required_bps"])
            assert Decimal(details["buffer_bps"]) == Decimal(buffer)


def test_exits_are_never_blocked_by_friction(runs: dict[str, dict[str, object]]) -> None:
    for buffer in STEPS:
        run = runs[buffer]
        assert run["exits_blocked"] == []
        assert run["fills"] == 2 * run["sent"]  # each entry filled and closed
        assert run["closed"] == run["sent"]
