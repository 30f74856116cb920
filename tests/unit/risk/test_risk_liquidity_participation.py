from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from risk_testkit import ctx, intent, with_rules

from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.risk.context import GateContext
from tradebot.risk.liquidity_participation import BarVolumes, LiquidityParticipationGate, RecentVolumes
from tradebot.risk.verdict import Outcome

BLOCKING = LiquidityParticipationGate(
    with_rules("MES", liquidity={"max_participation_pct": Decimal("0.015")})
)
DAY = date(2024, 3, 12)
SCALING = LiquidityParticipationGate(
    with_rules("MES", liquidity={"max_participation_pct": Decimal("0.015"), "participation_mode": "scale"})
)


def seen(volumes: tuple[float, ...]) -> GateContext:
    return ctx(views={RecentVolumes: RecentVolumes(volumes)})


def test_a_context_without_the_volumes_view_fails_the_gate_closed() -> None:
    with pytest.raises(LookupError):
        BLOCKING.check(intent(), ctx(views={}))


def test_an_entry_above_its_share_of_the_last_60_bars_volume_is_blocked() -> None:
    quiet = (10.0,) * 30 + (20.0,) * 60  # the last 60 bars: 1,200 contracts, 1.5 % of it = 18
    assert BLOCKING.check(intent(quantity=Decimal(18)), seen(quiet)).outcome is Outcome.PASS
    verdict = BLOCKING.check(intent(quantity=Decimal(19)), seen(quiet))
    assert verdict.code == reasons.LIQ_PARTICIPATION_BLOCK
    assert verdict.details["rolling_volume"] == "1200.0" and verdict.details["bars"] == 60
    assert Decimal(verdict.details["max_qty"]) == Decimal(18)


def test_scale_mode_cuts_the_entry_to_the_cap_unless_too_little_is_left() -> None:
    window = (100.0,) * 60  # 6,000: 90 contracts allowed
    verdict = SCALING.check(intent(quantity=Decimal(120)), seen(window))
    assert verdict.outcome is Outcome.CLAMP and verdict.code == reasons.LIQ_PARTICIPATION_SCALE
    assert verdict.intent is not None and verdict.intent.quantity == Decimal(90)
    assert verdict.details["quantity"] == {"from": "120", "to": "90"}
    too_big = SCALING.check(intent(quantity=Decimal(400)), seen(window))  # 90/400 < 0.25
    assert too_big.code == reasons.LIQ_PARTICIPATION_BLOCK


def test_no_volume_in_the_window_cannot_measure_participation() -> None:
    assert BLOCKING.check(intent(), seen(())).details == {"volume": "unknown", "bars": 0}
    assert BLOCKING.check(intent(), seen((0.0,) * 60)).outcome is Outcome.PASS


def test_exits_are_never_held_back_and_null_is_no_cap() -> None:
    assert not BLOCKING.applies_to_exits
    uncapped = LiquidityParticipationGate(with_rules("MES", liquidity={"max_participation_pct": None}))
    verdict = uncapped.check(intent(quantity=Decimal(1000)), seen((1.0,)))
    assert verdict.details == {"cap": "none"}


def test_bar_volumes_keep_each_instruments_recent_bars() -> None:
    volumes = BarVolumes()
    start = datetime(2024, 3, 12, 14, 0, tzinfo=UTC)
    for n in range(1500):
        volumes.on_bar(Bar("MES", start + timedelta(minutes=n), 1.0, 1.0, 1.0, 1.0, float(n)), DAY, start)
    volumes.on_bar(Bar("SPY", start, 1.0, 1.0, 1.0, 1.0, 7.0), DAY, start)
    assert volumes.recent("MES", 3) == (1497.0, 1498.0, 1499.0)
    assert len(volumes.recent("MES", 5000)) == 1440 and volumes.recent("SPY", 60) == (7.0,)
    assert volumes.recent("ES", 60) == ()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0, 1e5, allow_nan=False), max_size=120),
    st.integers(1, 10_000),
    st.sampled_from([BLOCKING, SCALING]),
)
def test_no_entry_leaves_the_gate_above_its_share_of_volume(
    volumes: list[float], qty: int, gate: LiquidityParticipationGate
) -> None:
    verdict = gate.check(intent(quantity=Decimal(qty)), seen(tuple(volumes)))
    window = Decimal(repr(sum(volumes[-60:])))
    if verdict.outcome is Outcome.BLOCK:
        assert window > 0 and Decimal(qty) > window * Decimal("0.015")
        return
    approved = verdict.intent.quantity if verdict.intent is not None else Decimal(qty)
    if window > 0:
        assert approved <= window * Decimal("0.015")
        assert approved >= Decimal(qty) * Decimal("0.25")
