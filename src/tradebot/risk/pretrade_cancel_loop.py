"""Pre-trade control: cancels per minute and the cancel/replace loop guard.

New entries are blocked (CANCEL_LOOP_BLOCK) while the cancels sent in the last 60 s reach
``max_cancels_per_min``, and, for a symbol whose cancels since its last fill reach
``max_cancels_without_fill``, for ``cancel_loop_block_bars`` bars after its last cancel."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.pretrade_throttle import count_within
from tradebot.risk.verdict import Verdict


class CancelLoopGate(RulesGate):
    name = "cancel_loop"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        rules = self.rules(intent.symbol).pretrade
        cancels = count_within(ctx.recent_cancels, ctx.now)
        if cancels >= rules.max_cancels_per_min:
            return Verdict.blocked(
                self.name,
                reasons.CANCEL_LOOP_BLOCK,
                problem="cancels_per_min",
                cancels_last_min=cancels,
                max=rules.max_cancels_per_min,
            )
        if (
            ctx.cancels_without_fill >= rules.max_cancels_without_fill
            and ctx.bars_since_last_cancel is not None
            and ctx.bars_since_last_cancel < rules.cancel_loop_block_bars
        ):
            return Verdict.blocked(
                self.name,
                reasons.CANCEL_LOOP_BLOCK,
                problem="cancel_replace_loop",
                cancels_without_fill=ctx.cancels_without_fill,
                bars_since_last_cancel=ctx.bars_since_last_cancel,
                block_bars=rules.cancel_loop_block_bars,
            )
        return Verdict.passed(self.name, cancels_last_min=cancels)
