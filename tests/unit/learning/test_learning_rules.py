"""The learning rules: a parameter moves only on its trigger, by at most its daily bound, never past its hard
bound, never down — whatever the metrics say."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tradebot.learning.config import LearningConfig
from tradebot.learning.metrics import SymbolEvidence
from tradebot.learning.rules import cost_buffer_proposal, threshold_proposal

CFG = LearningConfig(enabled=True)


def _evidence(*, is_bps: Decimal | None = None, filled: int = 0, flips: Decimal | None = None,
              trades: int = 0) -> SymbolEvidence:
    return SymbolEvidence("MES", filled, is_bps, is_bps, trades, flips)


def test_is_above_18_bps_over_enough_orders_raises_the_buffer_by_3_bps() -> None:
    proposal = cost_buffer_proposal(Decimal(2), _evidence(is_bps=Decimal("18.01"), filled=20), CFG)
    assert proposal is not None and proposal.value == Decimal(5) and proposal.reason == "IS_PERSISTENTLY_HIGH"
    assert proposal.metrics["is_bps_median"] == "18.01" and proposal.metrics["filled_orders"] == 20


def test_is_at_the_trigger_or_on_too_few_orders_moves_nothing() -> None:
    assert cost_buffer_proposal(Decimal(2), _evidence(is_bps=Decimal(18), filled=50), CFG) is None
    assert cost_buffer_proposal(Decimal(2), _evidence(is_bps=Decimal(90), filled=19), CFG) is None
    assert cost_buffer_proposal(Decimal(2), None, CFG) is None


def test_the_buffer_stops_at_its_hard_bound_and_never_goes_down() -> None:
    high = _evidence(is_bps=Decimal(500), filled=100)
    assert cost_buffer_proposal(Decimal(29), high, CFG).value == Decimal(30)  # type: ignore[union-attr]
    assert cost_buffer_proposal(Decimal(30), high, CFG) is None
    assert cost_buffer_proposal(Decimal(45), high, CFG) is None  # configured above the bound: left alone


def test_a_flip_rate_above_a_quarter_raises_a_threshold_by_5_percent() -> None:
    flipping = _evidence(flips=Decimal("0.3"), trades=20)
    proposal = threshold_proposal(Decimal("0.25"), Decimal(1), flipping, CFG)
    assert proposal is not None and proposal.value == Decimal("0.2625")
    assert proposal.reason == "FLIP_RATE_HIGH"
    assert threshold_proposal(Decimal("0.25"), Decimal(1), _evidence(flips=Decimal("0.25"), trades=40),
                              CFG) is None
    assert threshold_proposal(Decimal(0), Decimal(1), _evidence(flips=Decimal(1), trades=40), CFG) is None
    assert threshold_proposal(Decimal("0.99"), Decimal(1), _evidence(flips=Decimal(1), trades=40),
                              CFG).value == Decimal(1)  # type: ignore[union-attr]


decimals = st.decimals(min_value=0, max_value=10_000, places=4, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(current=st.decimals(min_value=0, max_value=60, places=4), is_bps=decimals,
       filled=st.integers(0, 10_000), delta=st.decimals(min_value="0.01", max_value=10, places=2),
       cap=st.decimals(min_value=0, max_value=100, places=2))
def test_the_buffer_never_moves_more_than_its_daily_bound(
    current: Decimal, is_bps: Decimal, filled: int, delta: Decimal, cap: Decimal
) -> None:
    cfg = LearningConfig(enabled=True, max_daily_delta_bps=delta, max_cost_buffer_bps=cap)
    proposal = cost_buffer_proposal(current, _evidence(is_bps=is_bps, filled=filled), cfg)
    if proposal is not None:
        assert current < proposal.value <= current + delta and proposal.value <= cap


@settings(max_examples=300, deadline=None)
@given(current=st.decimals(min_value=0, max_value=1, places=6), flips=st.decimals(min_value=0, max_value=1),
       trades=st.integers(0, 10_000), frac=st.decimals(min_value="0.001", max_value=1, places=3),
       cap=st.decimals(min_value=0, max_value=1, places=3))
def test_a_threshold_never_moves_more_than_5_percent_a_day(
    current: Decimal, flips: Decimal, trades: int, frac: Decimal, cap: Decimal
) -> None:
    cfg = LearningConfig(enabled=True, max_daily_delta_frac=frac)
    proposal = threshold_proposal(current, cap, _evidence(flips=flips, trades=trades), cfg)
    if proposal is not None:
        assert current < proposal.value <= current * (1 + frac) and proposal.value <= cap
