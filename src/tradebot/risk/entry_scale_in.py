"""Entry policy step 6: an existing position. Adding to it (scale-in) needs scale-in on, the
same direction, confidence above the position's by ``scale_in_conf_delta`` (0.05), fewer than
``scale_in_max`` (2) scale-ins so far and symbol exposure under its cap. A scale-in that passes skips
steps 7-9 (as in the seed); an order against the position that is not reduce-only is blocked."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate, adds_to_position
from tradebot.risk.verdict import Outcome, Verdict


class EntryScaleInGate(RulesGate):
    name = "entry_scale_in"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        policy = self.rules(intent.symbol).entry_policy
        position = ctx.position_qty
        if position == 0:
            return Verdict.passed(self.name, new_entry=True)
        if not adds_to_position(intent, position):
            return Verdict.blocked(
                self.name,
                reasons.BLOCK_EXISTING_POSITION,
                problem="opposite_direction",
                position=str(position),
            )
        if not policy.allow_scale_in:
            return Verdict.blocked(
                self.name,
                reasons.BLOCK_EXISTING_POSITION,
                problem="scale_in_disabled",
                position=str(position),
            )
        scale_ins = max(ctx.entries_in_position - 1, 0)
        if scale_ins >= policy.scale_in_max:
            return Verdict.blocked(
                self.name,
                reasons.BLOCK_SCALE_IN,
                problem="scale_in_count",
                scale_ins=scale_ins,
                max=policy.scale_in_max,
            )
        if ctx.position_confidence is not None and not (
            intent.confidence > ctx.position_confidence + policy.scale_in_conf_delta
        ):
            return Verdict.blocked(
                self.name,
                reasons.BLOCK_SCALE_IN,
                problem="confidence_not_improved",
                confidence=intent.confidence,
                position_confidence=ctx.position_confidence,
                delta=policy.scale_in_conf_delta,
            )
        symbol_exposure = ctx.exposure_by_symbol.get(intent.symbol, 0)
        if symbol_exposure >= policy.max_exposure_per_symbol_usd:
            return Verdict.blocked(
                self.name,
                reasons.BLOCK_SCALE_IN,
                problem="symbol_exposure",
                exposure=str(symbol_exposure),
                cap_usd=str(policy.max_exposure_per_symbol_usd),
            )
        return Verdict(self.name, Outcome.PASS, reasons.ALLOW_SCALE_IN, {"scale_ins": scale_ins})
