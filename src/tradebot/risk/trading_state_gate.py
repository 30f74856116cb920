"""Gate: the trading state and the kill switch. ACTIVE passes; REDUCING passes only exposure-reducing
orders; HALTED passes nothing but a reduce-only flatten (the session's or an operator's) or time stop."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import IntentSource, OrderIntent
from tradebot.domain.state import TradingState
from tradebot.risk.context import GateContext
from tradebot.risk.measures import reduces_exposure
from tradebot.risk.verdict import Verdict

# exits that close a position at market even while halted: the session's flatten, an operator's, and an
# entry's time stop (like its resting stop and target legs, which a halt leaves working)
_HALT_EXITS = (IntentSource.FLATTEN, IntentSource.OPERATOR, IntentSource.TIME_STOP)


class TradingStateGate:
    name = "trading_state"
    applies_to_exits = True

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        state = ctx.trading_state
        if state is TradingState.ACTIVE:
            return Verdict.passed(self.name)
        if state is TradingState.REDUCING:
            if intent.reduce_only or reduces_exposure(intent, ctx.position_qty):
                return Verdict.passed(self.name, state=state.value)
            return Verdict.blocked(
                self.name, reasons.TRADING_REDUCING, state=state.value, reason=ctx.trading_state_reason
            )
        if intent.reduce_only and intent.source in _HALT_EXITS:
            return Verdict.passed(self.name, state=state.value, source=intent.source.value)
        code = (
            reasons.KILL_SWITCH if ctx.trading_state_reason == reasons.KILL_SWITCH else reasons.TRADING_HALTED
        )
        return Verdict.blocked(self.name, code, state=state.value, reason=ctx.trading_state_reason)
