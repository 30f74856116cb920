from decimal import Decimal

from risk_testkit import ctx, intent

from tradebot.domain import reasons
from tradebot.domain.orders import IntentSource, Side
from tradebot.domain.state import TradingState
from tradebot.risk.trading_state_gate import TradingStateGate
from tradebot.risk.verdict import Outcome

GATE = TradingStateGate()


def test_active_passes_entries() -> None:
    assert GATE.check(intent(), ctx()).outcome is Outcome.PASS


def test_reducing_blocks_entries_but_passes_exposure_reducing_orders() -> None:
    state = ctx(trading_state=TradingState.REDUCING, position_qty=Decimal(1))
    blocked = GATE.check(intent(), state)
    assert (blocked.outcome, blocked.code) == (Outcome.BLOCK, reasons.TRADING_REDUCING)
    assert GATE.check(intent(side=Side.SELL), state).outcome is Outcome.PASS  # closes the long
    assert GATE.check(intent(side=Side.SELL, quantity=Decimal(2)), state).outcome is Outcome.BLOCK  # flips
    assert GATE.check(intent(side=Side.SELL, reduce_only=True), state).outcome is Outcome.PASS


def test_halted_passes_only_flatten_and_operator_exits() -> None:
    state = ctx(trading_state=TradingState.HALTED, position_qty=Decimal(1), trading_state_reason="X")
    assert GATE.check(intent(side=Side.SELL), state).code == reasons.TRADING_HALTED
    assert GATE.check(intent(side=Side.SELL, reduce_only=True), state).outcome is Outcome.BLOCK
    for source in (IntentSource.FLATTEN, IntentSource.OPERATOR):
        exit_ = intent(side=Side.SELL, reduce_only=True, source=source)
        assert GATE.check(exit_, state).outcome is Outcome.PASS


def test_kill_switch_reason_is_reported() -> None:
    state = ctx(trading_state=TradingState.HALTED, trading_state_reason=reasons.KILL_SWITCH)
    assert GATE.check(intent(), state).code == reasons.KILL_SWITCH
