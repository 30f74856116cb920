"""The AI sizer: confidence and volatility -> size, leverage and a harvest policy with exits.

    pct        = min_pct + (max_pct - min_pct) * confidence                 (0.5 % .. 2 % of equity)
    vol_factor = clamp(reference_atr_bps / atr_bps, vol_factor_min, vol_factor_max)
    size_usd   = equity * pct * vol_factor                                   -> ai_size_usd
    leverage   = min_leverage + (max_leverage - min_leverage) * confidence   (5x .. 80x, whole x, floor)
                 only where the venue has leverage (ctx.has_leverage), else none
    policy     = SCALPER / SWING / TREND_RUNNER by confidence (HarvestConfig), exit plan in ATR multiples
    quantity   = basis "notional": size_usd * leverage / notional of one unit (price * multiplier)
                 basis "risk":     size_usd / (stop distance * point value)
                                   (size_usd is what the stop risks)
    risk_budget_usd = quantity * stop distance * point value

Modes: SHADOW computes and records the proposal; the base sizer's intent goes on unchanged. LIVE puts
the proposal into the intent (quantity, leverage, exit plan, ai_* fields). Exits are never AI-sized.
A failure inside the AI sizer is non-blocking: the base intent continues unchanged and the record carries
SIZER_FAILURE with the error; the gates still apply to whatever continues.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradebot.domain import reasons
from tradebot.domain.instruments import ZERO, Instrument
from tradebot.domain.orders import HarvestPolicy, OrderIntent, Side
from tradebot.domain.signals import Signal
from tradebot.sizing.context import Sizer, SizingContext, SizingResult
from tradebot.sizing.harvest import HarvestConfig, exit_plan
from tradebot.sizing.intent_builder import Action, EntryTerms, entry_intent, entry_quantity, price_of

CENT = Decimal("0.01")
_ENTRY = Action.ENTRY.value


class SizerMode(StrEnum):
    SHADOW = "SHADOW"
    LIVE = "LIVE"


_MODE_TEXT = {mode: mode.value for mode in SizerMode}


class AiSizerTuning(BaseModel):
    """The AI sizer's numbers: what ``[strategy.ai]`` configures (settings.AiSizerConfig). Its mode is
    ``[strategy] ai_mode`` and its quantity cap the constitution's position limit, so neither is here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_pct: Decimal = Field(Decimal("0.005"), gt=0, le=1)
    max_pct: Decimal = Field(Decimal("0.02"), gt=0, le=1)
    reference_atr_bps: Decimal = Field(Decimal("5"), gt=0)  # ATR (bps of price) that gets vol_factor 1
    vol_factor_min: Decimal = Field(Decimal("0.5"), gt=0)
    vol_factor_max: Decimal = Field(Decimal("1.5"), gt=0)
    min_leverage: Decimal = Field(Decimal(5), ge=1)
    max_leverage: Decimal = Field(Decimal(80), ge=1)
    basis: Literal["notional", "risk"] = "notional"
    harvest: HarvestConfig = HarvestConfig()

    @model_validator(mode="after")
    def _ranges(self) -> AiSizerTuning:
        for low, high in (("min_pct", "max_pct"), ("vol_factor_min", "vol_factor_max"),
                          ("min_leverage", "max_leverage")):
            if getattr(self, low) > getattr(self, high):
                raise ValueError(
                    f"{low} ({getattr(self, low)}) must not exceed {high} ({getattr(self, high)})"
                )
        return self


class AiSizerParams(AiSizerTuning):
    mode: SizerMode = SizerMode.SHADOW
    max_qty: Decimal | None = Field(None, gt=0)

    @classmethod
    def of(cls, tuning: AiSizerTuning, mode: SizerMode, max_qty: Decimal | None) -> AiSizerParams:
        """``tuning``'s numbers (only those: a config subclass's own fields are left out) with a mode and a
        quantity cap."""
        own = {name: getattr(tuning, name) for name in AiSizerTuning.model_fields}
        return cls(**own, mode=mode, max_qty=max_qty)


def largest_quantity(
    raw: Decimal, instrument: Instrument, price: Decimal, max_qty: Decimal | None
) -> tuple[Decimal, str | None]:
    """``raw`` on the lot grid (down), capped; zero and why when that is no tradable order (under one lot
    step, the minimum quantity or the minimum notional)."""
    qty, why = entry_quantity(raw, instrument, max_qty)
    minimum = instrument.min_notional
    if why is None and minimum > ZERO and instrument.notional(price, qty) < minimum:
        qty, why = ZERO, f"notional {instrument.notional(price, qty)} under the minimum {minimum}"
    return qty, why


class SizerInputError(ValueError):
    """The signal or context lacks what the AI sizer needs (e.g. no ATR)."""


@dataclasses.dataclass(frozen=True, slots=True)
class AiProposal:
    size_usd: Decimal
    leverage: Decimal | None
    policy: HarvestPolicy
    terms: EntryTerms
    why_zero: str | None
    detail: dict[str, Any]


def _clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return max(low, min(high, value))


class AiSizer:
    name = "ai"

    def __init__(self, base: Sizer, params: AiSizerParams | None = None) -> None:
        self.base = base
        self.params = params or AiSizerParams()

    @property
    def mode(self) -> SizerMode:
        return self.params.mode

    def idle_record(self, signal: Signal, position_qty: Decimal) -> dict[str, Any] | None:
        """``size``'s record when the base sizer finds the signal idle (HOLD, no direction), else None.

        Only when the base sizer can tell that cheaply itself (``IdleRecordSizer``); otherwise None.
        """
        base_idle_record = getattr(self.base, "idle_record", None)  # IdleRecordSizer.idle_record
        if base_idle_record is None:
            return None
        record: dict[str, Any] | None = base_idle_record(signal, position_qty)
        if record is None or record.get("action") == _ENTRY:
            return None
        return {**record, "ai": {"mode": _MODE_TEXT[self.params.mode], "status": "skipped"}}

    def size(self, signal: Signal, ctx: SizingContext) -> SizingResult:
        base = self.base.size(signal, ctx)
        if base.record.get("action") != Action.ENTRY.value:
            skipped = {"mode": self.mode.value, "status": "skipped"}
            return SizingResult(base.intent, {**base.record, "ai": skipped})
        try:
            proposal = self.propose(signal, ctx)
        except Exception as exc:  # noqa: BLE001 - a sizer failure is recorded and non-blocking
            return self._failed(base, exc)
        ai: dict[str, Any] = {"mode": self.mode.value, "status": "computed", **proposal.detail}
        if self.mode is SizerMode.SHADOW:
            ai["applied"] = False
            return SizingResult(base.intent, {**base.record, "ai": ai})
        ai["applied"] = True
        record = {**base.record, "ai": ai}
        if proposal.why_zero is not None:
            record.update(code=reasons.INSTRUMENT_INCREMENT_BLOCK, why=proposal.why_zero, quantity="0")
            return SizingResult(None, record)
        intent = self._apply(signal, ctx, base.intent, proposal)
        record.update(quantity=str(intent.quantity), intent_id=intent.intent_id)
        return SizingResult(intent, record)

    def _failed(self, base: SizingResult, exc: BaseException) -> SizingResult:
        ai = {
            "mode": self.mode.value,
            "status": "failed",
            "code": reasons.SIZER_FAILURE,
            "error_type": type(exc).__name__,
            "error": str(exc),
            "applied": False,
        }
        return SizingResult(base.intent, {**base.record, "ai": ai})

    def _apply(
        self, signal: Signal, ctx: SizingContext, base: OrderIntent | None, proposal: AiProposal
    ) -> OrderIntent:
        t = proposal.terms
        if base is None:  # the base sizer found no tradable size; the AI's size stands on its own
            return entry_intent(signal, ctx.instrument, t)
        return dataclasses.replace(
            base,
            quantity=t.quantity,
            exit_plan=t.exit_plan,
            leverage=t.leverage,
            ai_size_usd=t.ai_size_usd,
            ai_leverage=t.ai_leverage,
            ai_harvest_policy=proposal.policy,
            risk_budget_usd=t.risk_budget_usd,
        )

    def propose(self, signal: Signal, ctx: SizingContext) -> AiProposal:
        """The pure computation; raises SizerInputError (or an arithmetic error) on unusable input."""
        p = self.params
        inst = ctx.instrument
        if signal.atr is None or not signal.atr > 0:
            raise SizerInputError(f"signal has no usable ATR ({signal.atr!r})")
        if not 0.0 <= signal.confidence <= 1.0:
            raise SizerInputError(f"confidence {signal.confidence!r} is outside [0, 1]")
        if ctx.equity <= ZERO:
            raise SizerInputError(f"equity {ctx.equity} is not positive")
        confidence = price_of(signal.confidence)
        price = inst.round_price(price_of(signal.reference_price))
        atr = price_of(signal.atr)
        atr_bps = atr / price * 10_000
        vol_factor = _clamp(p.reference_atr_bps / atr_bps, p.vol_factor_min, p.vol_factor_max)
        pct = p.min_pct + (p.max_pct - p.min_pct) * confidence
        size_usd = (ctx.equity * pct * vol_factor).quantize(CENT, rounding=ROUND_DOWN)
        leverage: Decimal | None = None
        if ctx.has_leverage:
            leverage = (p.min_leverage + (p.max_leverage - p.min_leverage) * confidence).quantize(
                Decimal(1), rounding=ROUND_DOWN
            )
        policy = p.harvest.choose(signal.confidence)
        side = Side.BUY if signal.direction > 0 else Side.SELL
        plan = exit_plan(policy, p.harvest.policies[policy], side, price, atr, inst)
        assert plan.stop_loss is not None
        stop_distance = abs(price - plan.stop_loss)
        if p.basis == "notional":
            raw = size_usd * (leverage or Decimal(1)) / inst.notional(price, Decimal(1))
        else:
            raw = size_usd / (stop_distance * inst.point_value(price))
        caps = [c for c in (p.max_qty, ctx.max_qty) if c is not None]
        qty, why = largest_quantity(raw, inst, price, min(caps) if caps else None)
        risk_budget = (qty * stop_distance * inst.point_value(price)).quantize(CENT)
        terms = EntryTerms(
            quantity=qty,
            exit_plan=plan,
            leverage=leverage,
            ai_size_usd=size_usd,
            ai_leverage=leverage,
            risk_budget_usd=risk_budget,
        )
        detail = {
            "confidence": signal.confidence,
            "pct": str(pct),
            "atr": str(atr),
            "atr_bps": str(atr_bps.quantize(Decimal("0.0001"))),
            "vol_factor": str(vol_factor.quantize(Decimal("0.0001"))),
            "size_usd": str(size_usd),
            "leverage": str(leverage) if leverage is not None else None,
            "policy": policy.value,
            "basis": p.basis,
            "raw_quantity": str(raw),
            "quantity": str(qty),
            "stop_loss": str(plan.stop_loss),
            "take_profit": str(plan.take_profit),
            "time_stop_s": plan.time_stop_s,
            "risk_budget_usd": str(risk_budget),
            **({"why_zero": why, "code": reasons.INSTRUMENT_INCREMENT_BLOCK} if why else {}),
        }
        return AiProposal(size_usd, leverage, policy, terms, why, detail)
