"""Sleeves netted on one instrument: each sleeve's target from its own signal, sizer and equity share, at most
one order per bar, the targets named on it; one sleeve with weight 1 is the single-strategy rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.domain.orders import Side
from tradebot.domain.signals import Signal, SleeveSignal, SleeveSignals
from tradebot.sizing import Action, EngineSizer, FixedFractionParams, FixedFractionSizer, decide_action
from tradebot.sizing.netting import Netting

BAR_TS = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)
NOW = BAR_TS + timedelta(minutes=1)
EQUITY = Decimal(10000)
MES = Instrument(
    "MES", "CME", AssetClass.FUTURE, "USD", Decimal("0.25"), Decimal(1), Decimal(1), multiplier=Decimal(5),
    calendar="CME",
)


def signal(direction: float) -> Signal:
    return Signal("MES", NOW, direction, 0.7, "normal_vol", 1700.0, atr=0.85, bar_ts=BAR_TS)


def sizer(fraction: str, stop_ticks: int = 8) -> EngineSizer:
    """Risk basis: qty = equity share × fraction / (stop ticks × $1.25)."""
    params = FixedFractionParams(fraction=Decimal(fraction), stop_ticks=stop_ticks)
    return EngineSizer(FixedFractionSizer(params))


def netting(*sleeves: tuple[str, str, str]) -> Netting:
    """(name, weight, fraction) per sleeve, all on MES."""
    return Netting({(name, "MES"): sizer(fraction) for name, _, fraction in sleeves},
                   {name: Decimal(weight) for name, weight, _ in sleeves})


def bar(**directions: float | None) -> SleeveSignals:
    return SleeveSignals(
        "MES", tuple(SleeveSignal(name, None if d is None else signal(d)) for name, d in directions.items())
    )


def test_opposite_sleeves_of_equal_size_net_to_no_order_from_flat() -> None:
    # trend: 10000 × 0.5 × 0.004 / 10 = 2 long; meanrev: the same short -> net 0
    net = netting(("trend", "0.5", "0.004"), ("meanrev", "0.5", "0.004"))
    intents, record = net(bar(trend=0.4, meanrev=-0.6), MES, Decimal(0), EQUITY, NOW)
    assert intents == []
    assert record["targets"] == {"trend": "2", "meanrev": "-2"} and record["net_target"] == "0"
    assert record["action"] == "netted to none"


def test_unequal_opposite_sleeves_net_to_one_order_named_after_the_larger() -> None:
    # trend 10000 × 0.6 × 0.005 / 10 = 3 long; meanrev 10000 × 0.4 × 0.005 / 10 = 2 short -> BUY 1
    net = netting(("trend", "0.6", "0.005"), ("meanrev", "0.4", "0.005"))
    intents, record = net(bar(trend=0.3, meanrev=-0.9), MES, Decimal(0), EQUITY, NOW)
    assert len(intents) == 1
    intent = intents[0]
    assert (intent.side, intent.quantity, intent.sleeve) == (Side.BUY, Decimal(1), "trend")
    assert intent.sleeve_targets == (("trend", Decimal(3)), ("meanrev", Decimal(-2)))
    assert intent.exit_plan is not None
    assert intent.exit_plan.stop_loss == Decimal("1698.00")  # trend's 8 ticks
    assert intent.intent_id == "MES-20131007T133000-0"  # one order per instrument per bar
    assert record["sleeve"] == "trend" and record["quantity"] == "1"


def test_sleeves_agreeing_add_up() -> None:
    net = netting(("a", "0.5", "0.004"), ("b", "0.25", "0.004"), ("c", "0.25", "0.004"))
    intents, record = net(bar(a=-0.2, b=-0.5, c=None), MES, Decimal(0), EQUITY, NOW)
    assert [(i.side, i.quantity, i.sleeve) for i in intents] == [(Side.SELL, Decimal(3), "a")]
    assert record["targets"] == {"a": "-2", "b": "-1", "c": "0"}


def test_a_held_position_is_exited_when_the_weighted_views_turn_against_it() -> None:
    net = netting(("a", "0.7", "0.004"), ("b", "0.3", "0.004"))
    intents, record = net(bar(a=-0.1, b=0.9), MES, Decimal(2), EQUITY, NOW)  # view 0.7·(−1) + 0.3·(+1) < 0
    assert [(i.side, i.quantity, i.reduce_only, i.sleeve) for i in intents] == [
        (Side.SELL, Decimal(2), True, "a")
    ]
    assert record["action"] == "exit" and record["net_view"] == "-0.4"
    held, record = net(bar(a=0.1, b=-0.9), MES, Decimal(2), EQUITY, NOW)  # 0.7 − 0.3 > 0: held
    assert held == [] and record["action"] == "hold"


def test_views_that_cancel_exactly_exit_a_held_position() -> None:
    net = netting(("a", "0.5", "0.004"), ("b", "0.5", "0.004"))
    intents, _ = net(bar(a=0.5, b=-0.5), MES, Decimal(-1), EQUITY, NOW)
    assert [(i.side, i.quantity, i.reduce_only) for i in intents] == [(Side.BUY, Decimal(1), True)]


def test_a_sleeve_too_small_to_size_still_holds_its_view() -> None:
    """Its target is 0 (under one lot), but its direction still counts: a position it agrees with is held."""
    net = netting(("a", "0.5", "0.001"))  # 10000 × 0.5 × 0.001 / 10 = 0.5 -> 0 lots
    intents, record = net(bar(a=0.4), MES, Decimal(1), EQUITY, NOW)
    assert intents == [] and record["action"] == "hold"
    assert record["proposals"][0]["code"] == "INSTRUMENT_INCREMENT_BLOCK"


@settings(max_examples=300, deadline=None)
@given(
    directions=st.lists(st.sampled_from([-0.8, -0.2, 0.0, 0.3, 0.9, None]), min_size=1, max_size=4),
    weights=st.lists(st.integers(1, 10), min_size=4, max_size=4),
    position=st.integers(-3, 3),
)
def test_at_most_one_order_and_it_follows_the_targets(
    directions: list[float | None], weights: list[int], position: int
) -> None:
    names = [f"s{i}" for i in range(len(directions))]
    total_weight = sum(weights[: len(names)])
    shares = [str(Decimal(w) / total_weight) for w in weights[: len(names)]]
    net = netting(*((n, share, "0.01") for n, share in zip(names, shares, strict=True)))
    signals = bar(**dict(zip(names, directions, strict=True)))
    intents, record = net(signals, MES, Decimal(position), EQUITY, NOW)
    assert len(intents) <= 1
    targets = {k: Decimal(v) for k, v in record["targets"].items()}
    for name, direction in zip(names, directions, strict=True):  # a target has its signal's sign
        assert targets[name] == 0 or (direction is not None and (targets[name] > 0) == (direction > 0))
    if not intents:
        return
    intent = intents[0]
    assert intent.sleeve in names and dict(intent.sleeve_targets) == targets
    if position == 0:  # from flat: the net target
        total = sum(targets.values())
        assert not intent.reduce_only and intent.quantity == abs(total)
        assert intent.side is (Side.BUY if total > 0 else Side.SELL)
    else:  # held: only ever the whole position, reduce-only
        assert intent.reduce_only and intent.quantity == abs(position)
        assert intent.side is (Side.SELL if position > 0 else Side.BUY)


@pytest.mark.parametrize("direction", [-0.7, -0.1, 0.0, 0.2, 0.9])
@pytest.mark.parametrize("position", [-2, 0, 1])
def test_one_sleeve_of_weight_one_follows_the_single_strategy_rule(direction: float, position: int) -> None:
    net = netting(("only", "1", "0.002"))
    intents, _ = net(bar(only=direction), MES, Decimal(position), EQUITY, NOW)
    alone, _ = sizer("0.002")(_Request(signal(direction), Decimal(position)))
    action = decide_action(direction, Decimal(position))
    assert [(i.side, i.quantity, i.reduce_only, i.exit_plan) for i in intents] == [
        (i.side, i.quantity, i.reduce_only, i.exit_plan) for i in alone
    ]
    assert bool(intents) == (action in (Action.ENTRY, Action.EXIT))


class _Request:
    def __init__(self, signal: Signal, position: Decimal) -> None:
        self.signal, self.instrument, self.position_qty = signal, MES, position
        self.equity, self.now = EQUITY, NOW
