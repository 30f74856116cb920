"""Strategy sleeves on the bundled ES week (MES): two sleeves with their own profiles and capital weights
netted into at most one order per bar, each order naming every sleeve's target, PnL attributed to sleeves
in the report; one sleeve of weight 1 trades exactly as the plain ``[strategy]`` does."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import REPO, SAMPLE, run_env, tradebot

from tradebot.store import StoreReader

SHIPPED = (REPO / "config" / "tradebot.toml").read_text()
TWO_SLEEVES = """
[sleeves.fast]
instruments = ["MES"]
weight = 0.5
profile = "aggressive"

[sleeves.slow]
instruments = ["MES"]
weight = 0.5
profile = "conservative"
fraction = 0.004

"""
ONE_SLEEVE = """
[sleeves.main]
instruments = ["MES"]
weight = 1

"""


def config(directory: Path, sleeves: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "tradebot.toml"
    text = SHIPPED.replace("[gates]", sleeves + "[gates]", 1)
    shipped = 'constitution = "config/constitution.yaml"'
    text = text.replace(shipped, f'constitution = "{REPO}/config/constitution.yaml"')
    path.write_text(text)
    return path


def replay(directory: Path, sleeves: str) -> Path:
    store = directory / "week.db"
    done = tradebot(
        "replay", "--data", str(SAMPLE), "--store", str(store), "--config", str(config(directory, sleeves)),
        "-q", env=run_env(directory / "run"),
    )
    assert done.returncode == 0, done.stderr
    return store


def events(store: Path, *kinds: str) -> list[Any]:
    with StoreReader(store) as reader:
        return list(reader.iter_events(kinds=kinds))


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return replay(tmp_path_factory.mktemp("two-sleeves"), TWO_SLEEVES)


def test_two_sleeves_net_into_one_order_per_bar_naming_each_target(two: Path) -> None:
    sized = [e.body["sizing"] for e in events(two, "bar") if "sizing" in e.body]
    sizing = {record["intent_id"]: record for record in sized if record.get("intent_id")}
    strategy = [e for e in events(two, "decision") if e.body["intent"]["source"] == "strategy"]
    assert strategy, "the week's signals made no strategy intent"
    per_bar = Counter((e.body["intent"]["symbol"], e.body["intent"]["bar_ts"]) for e in strategy)
    assert max(per_bar.values()) == 1  # at most one order per instrument per bar
    sleeves_seen = set()
    for decision in strategy:
        intent = decision.body["intent"]
        targets = {name: Decimal(q) for name, q in intent["sleeve_targets"]}
        assert set(targets) == {"fast", "slow"}
        assert intent["sleeve"] in targets
        sleeves_seen.add(intent["sleeve"])
        record = sizing[intent["intent_id"]]
        assert record["targets"] == {k: str(v) for k, v in targets.items()}
        if not intent["reduce_only"]:  # an entry: the net of the targets
            assert Decimal(intent["quantity"]) == abs(sum(targets.values()))
    assert sleeves_seen == {"fast", "slow"}  # both sleeves led orders in this week
    # a sized bar carries the signal of each sleeve that spoke on it (its own ensemble, its own profile)
    signals = [[s["sleeve"] for s in e.body["signals"]] for e in events(two, "bar") if "sizing" in e.body]
    assert all(each in ([], ["fast"], ["slow"], ["fast", "slow"]) for each in signals)
    assert {"fast", "slow"} == {sleeve for each in signals for sleeve in each}


def test_the_report_attributes_pnl_to_the_sleeves(two: Path) -> None:
    result = tradebot("report", "--store", str(two), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    by_sleeve = data["pnl_by_sleeve"]
    assert set(by_sleeve) <= {"fast", "slow"} and by_sleeve
    assert sum(Decimal(v["pnl_net"]) for v in by_sleeve.values()) == sum(
        Decimal(t["pnl_net"]) for t in data["trades"]
    )
    entries: dict[str, str] = {}
    for decision in events(two, "decision"):
        order = decision.body.get("order") or {}
        if order.get("client_order_id"):
            entries[order["client_order_id"]] = decision.body["intent"]["sleeve"]
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for trade in data["trades"]:  # by hand: each trade to the sleeve its entry order was netted for
        expected[entries[trade["entry_order"]]] += Decimal(trade["pnl_net"])
    assert {k: Decimal(v["pnl_net"]) for k, v in by_sleeve.items()} == dict(expected)


def test_two_sleeve_replays_are_identical(two: Path, tmp_path: Path) -> None:
    again = replay(tmp_path / "again", TWO_SLEEVES)
    kinds = ("bar", "decision", "order_submit", "order_filled")
    assert [e.body for e in events(again, *kinds)] == [e.body for e in events(two, *kinds)]


def test_one_sleeve_of_weight_one_trades_as_the_plain_strategy(tmp_path: Path) -> None:
    sleeve = replay(tmp_path / "one", ONE_SLEEVE)
    plain = replay(tmp_path / "plain", "")

    def orders(store: Path) -> list[tuple[Any, ...]]:
        return [
            (e.body["client_order_id"], e.body["side"], e.body["quantity"], e.body["reduce_only"])
            for e in events(store, "order_submit")
        ]

    def fills(store: Path) -> list[tuple[Any, ...]]:
        return [(e.body["client_order_id"], e.body["price"], e.body["fee"])
                for e in events(store, "order_filled")]

    assert orders(sleeve) and orders(sleeve) == orders(plain)
    assert fills(sleeve) == fills(plain)
    assert {e.body["intent"]["sleeve"] for e in events(sleeve, "decision")} == {"main"}
