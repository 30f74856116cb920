"""The entry cost gate (liquidity_regime with ``entry_cost_buffer_bps`` set): an entry's take-profit must lie
at least its round-trip cost estimate plus the buffer away; off (null) it judges nothing."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from risk_testkit import ctx, intent, with_rules

from tradebot.domain import reasons
from tradebot.domain.orders import ExitPlan
from tradebot.risk.liquidity_regime import LiquidityRegimeGate
from tradebot.risk.verdict import Outcome

# the kit's MES long at 4500 takes profit at 4506: 13.3333 bps; a fresh run has no spread estimate (cost 0)


def _gate(buffer: str | None) -> LiquidityRegimeGate:
    value = None if buffer is None else Decimal(buffer)
    return LiquidityRegimeGate(with_rules("MES", liquidity={"entry_cost_buffer_bps": value}))


def test_off_by_default_nothing_is_judged() -> None:
    verdict = _gate(None).check(intent(), ctx())
    assert verdict.outcome is Outcome.PASS and "entry_cost" not in verdict.details


def test_a_reward_that_clears_cost_and_buffer_passes_with_its_numbers() -> None:
    verdict = _gate("13").check(intent(), ctx())
    assert verdict.outcome is Outcome.PASS
    assert verdict.details["entry_cost"] == {
        "buffer_bps": "13", "cost_bps": "0.0000", "required_bps": "13.0000", "reward_bps": "13.3333"
    }


def test_a_buffer_above_the_reward_blocks_the_entry() -> None:
    verdict = _gate("14").check(intent(), ctx())
    assert verdict.outcome is Outcome.BLOCK and verdict.code == reasons.ENTRY_COST_BLOCK
    assert verdict.details["reward_bps"] == "13.3333" and verdict.details["required_bps"] == "14.0000"


def test_an_entry_without_a_take_profit_is_blocked_when_the_gate_is_on() -> None:
    verdict = _gate("0").check(intent(exit_plan=ExitPlan(stop_loss=Decimal(4497))), ctx())
    assert verdict.outcome is Outcome.BLOCK and verdict.details["problem"] == "no_take_profit"


@given(buffer=st.decimals(min_value=0, max_value=40, places=2))
def test_the_gate_blocks_exactly_when_the_buffer_is_above_the_reward(buffer: Decimal) -> None:
    verdict = _gate(str(buffer)).check(intent(), ctx())
    assert (verdict.outcome is Outcome.BLOCK) == (buffer > Decimal("13.3333"))
