"""Turning a received trade intent (a JSON object) into an ``OrderIntent``, or refusing it whole.

``parse_intent`` either returns a complete OrderIntent or raises ``IntentValidationError`` naming the
field that is wrong; nothing is half-applied. The checks beyond the wire schema:

- ``symbol`` is a configured instrument;
- ``quantity`` (when given) is on the instrument's lot grid and at least its minimum; without it a v1.1
  intent may carry ``ai_size_usd`` and the quantity is derived from it (rounded down on the lot grid);
- ``limit_price`` / ``stop_price`` / exit prices are positive and on the tick grid; LIMIT needs
  ``limit_price``, STOP needs ``stop_price``, STOP_LIMIT both; TRAILING_STOP is not accepted here;
- the exit plan's stop and target lie on the right sides (BUY: stop < target);
- every price, quantity and amount is under ``MAX_NUMBER`` (1e15);
- ``ts`` is timezone-aware, not in the future (beyond ``max_skew_s``) and, if ``max_age_s`` is given,
  not older than that;
- a reference price comes from ``reference_price``, else the limit or stop price (a MARKET intent needs it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from tradebot.domain import reasons
from tradebot.domain.instruments import ZERO, Instrument
from tradebot.domain.orders import ExitPlan, IntentSource, OrderIntent, OrderType, Side
from tradebot.intents.schema import V11_FIELDS, TradeIntentWire


class IntentValidationError(ValueError):
    """``field`` is the (first) wrong field as a dotted path; ``problems`` lists every (field, message)."""

    code = reasons.INTENT_INVALID

    def __init__(self, field: str, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        self.field = field
        self.message = message
        self.problems = problems or [(field, message)]
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class ParsedIntent:
    """A valid intent and the fields that were received but ignored (unknown, or v1.1 under v1.0)."""

    intent: OrderIntent
    ignored: dict[str, Any] = field(default_factory=dict)
    line: int | None = None


def _wire(obj: Any) -> tuple[TradeIntentWire, dict[str, Any]]:
    """The validated wire model and the v1.1 fields a v1.0 message carried (not read, not validated)."""
    if not isinstance(obj, Mapping):
        raise IntentValidationError("<root>", f"a trade intent is a JSON object, got {type(obj).__name__}")
    body = dict(obj)
    skipped: dict[str, Any] = {}
    if body.get("schema_version", "1.0") == "1.0":
        skipped = {name: body.pop(name) for name in V11_FIELDS if name in body}
    try:
        wire = TradeIntentWire.model_validate(body)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"]) or "<root>"
            problems.append((path, err["msg"]))
        raise IntentValidationError(problems[0][0], problems[0][1], problems) from None
    _check_magnitudes(wire)
    return wire, skipped


MAX_NUMBER = Decimal("1e15")  # no price, quantity or amount is this large; grid checks on it would overflow
_NUMBER_FIELDS = (
    "quantity", "limit_price", "stop_price", "reference_price", "leverage",
    "ai_size_usd", "ai_leverage", "risk_budget_usd",
)


def _check_magnitudes(wire: TradeIntentWire) -> None:
    numbers: dict[str, Decimal | None] = {name: getattr(wire, name) for name in _NUMBER_FIELDS}
    if wire.exit_plan is not None:
        numbers["exit_plan.stop_loss"] = wire.exit_plan.stop_loss
        numbers["exit_plan.take_profit"] = wire.exit_plan.take_profit
    for name, value in numbers.items():
        if value is not None and value >= MAX_NUMBER:
            raise IntentValidationError(name, f"{value} is too large (must be under 1e15)")


def _on_grid(instrument: Instrument, name: str, price: Decimal | None) -> None:
    if price is not None and not instrument.is_valid_price(price):
        raise IntentValidationError(
            name, f"{price} is not on the tick grid of {instrument.symbol} ({instrument.tick_for(price)})"
        )


def _check_ts(wire: TradeIntentWire, now: datetime, max_skew_s: float, max_age_s: float | None) -> datetime:
    if wire.ts is None:
        return now
    ts = wire.ts
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise IntentValidationError("ts", "must carry a timezone (e.g. 2013-10-07T13:30:00Z)")
    if ts > now + timedelta(seconds=max_skew_s):
        raise IntentValidationError("ts", f"{ts.isoformat()} is in the future (now {now.isoformat()})")
    if max_age_s is not None and ts < now - timedelta(seconds=max_age_s):
        raise IntentValidationError("ts", f"{ts.isoformat()} is older than {max_age_s:g} s")
    return ts


def _check_order_prices(wire: TradeIntentWire, instrument: Instrument) -> None:
    ot = wire.order_type
    if ot is OrderType.TRAILING_STOP:
        raise IntentValidationError("order_type", "TRAILING_STOP is not accepted from external intents")
    if ot in (OrderType.LIMIT, OrderType.STOP_LIMIT) and wire.limit_price is None:
        raise IntentValidationError("limit_price", f"required for a {ot.value} order")
    if ot in (OrderType.STOP, OrderType.STOP_LIMIT) and wire.stop_price is None:
        raise IntentValidationError("stop_price", f"required for a {ot.value} order")
    if ot in (OrderType.MARKET, OrderType.STOP) and wire.limit_price is not None:
        raise IntentValidationError("limit_price", f"not allowed on a {ot.value} order")
    if ot in (OrderType.MARKET, OrderType.LIMIT) and wire.stop_price is not None:
        raise IntentValidationError("stop_price", f"not allowed on a {ot.value} order")
    _on_grid(instrument, "limit_price", wire.limit_price)
    _on_grid(instrument, "stop_price", wire.stop_price)


def _exit_plan(wire: TradeIntentWire, instrument: Instrument) -> ExitPlan | None:
    plan = wire.exit_plan
    if plan is None:
        return None
    _on_grid(instrument, "exit_plan.stop_loss", plan.stop_loss)
    _on_grid(instrument, "exit_plan.take_profit", plan.take_profit)
    if plan.stop_loss is not None and plan.take_profit is not None:
        buy = wire.side is Side.BUY
        if (plan.stop_loss >= plan.take_profit) if buy else (plan.stop_loss <= plan.take_profit):
            relation = "below" if wire.side is Side.BUY else "above"
            raise IntentValidationError(
                "exit_plan.stop_loss", f"must be {relation} take_profit for a {wire.side.value} intent"
            )
    if wire.reduce_only:
        raise IntentValidationError("exit_plan", "a reduce_only intent cannot carry an exit plan")
    return ExitPlan(plan.stop_loss, plan.take_profit, plan.time_stop_s, plan.policy)


def _quantity(wire: TradeIntentWire, instrument: Instrument, reference: Decimal, v11: bool) -> Decimal:
    if wire.quantity is not None:
        if not instrument.is_valid_qty(wire.quantity):
            raise IntentValidationError(
                "quantity",
                f"{wire.quantity} is not a valid quantity for {instrument.symbol} "
                f"(lot step {instrument.lot_step}, minimum {instrument.min_qty})",
            )
        return wire.quantity
    if v11 and wire.ai_size_usd is not None:
        notional = wire.ai_size_usd * (wire.ai_leverage or Decimal(1))
        qty = instrument.round_qty(notional / instrument.notional(reference, Decimal(1)))
        if qty <= ZERO or qty < instrument.min_qty:
            raise IntentValidationError(
                "ai_size_usd", f"{wire.ai_size_usd} USD buys {qty} of {instrument.symbol}, under the minimum"
            )
        return qty
    raise IntentValidationError("quantity", "required (a v1.1 intent may give ai_size_usd instead)")


def parse_intent_detailed(
    obj: Any,
    instruments: Mapping[str, Instrument],
    now: datetime,
    *,
    max_skew_s: float = 5.0,
    max_age_s: float | None = None,
    line: int | None = None,
) -> ParsedIntent:
    wire, skipped = _wire(obj)
    instrument = instruments.get(wire.symbol)
    if instrument is None:
        raise IntentValidationError("symbol", f"{wire.symbol!r} is not a configured instrument "
                                              f"({', '.join(sorted(instruments)) or 'none'})")
    v11 = wire.schema_version == "1.1"
    ignored: dict[str, Any] = {**(wire.model_extra or {}), **skipped}
    ts = _check_ts(wire, now, max_skew_s, max_age_s)
    _check_order_prices(wire, instrument)
    reference = wire.reference_price or wire.limit_price or wire.stop_price
    if reference is None:
        raise IntentValidationError("reference_price", "required for a MARKET intent")
    reference = instrument.round_price(reference)
    exit_plan = _exit_plan(wire, instrument)
    quantity = _quantity(wire, instrument, reference, v11)
    intent = OrderIntent(
        intent_id=wire.intent_id,
        symbol=wire.symbol,
        side=wire.side,
        quantity=quantity,
        ts=ts,
        reference_price=reference,
        order_type=wire.order_type,
        limit_price=wire.limit_price,
        stop_price=wire.stop_price,
        tif=wire.tif,
        reduce_only=wire.reduce_only,
        confidence=wire.confidence,
        regime=wire.regime,
        source=IntentSource.EXTERNAL,
        exit_plan=exit_plan,
        leverage=wire.leverage,
        schema_version=wire.schema_version,
        ai_size_usd=wire.ai_size_usd if v11 else None,
        ai_leverage=wire.ai_leverage if v11 else None,
        ai_harvest_policy=wire.ai_harvest_policy if v11 else None,
        risk_budget_usd=wire.risk_budget_usd if v11 else None,
    )
    return ParsedIntent(intent, ignored, line)


def parse_intent(
    obj: Any,
    instruments: Mapping[str, Instrument],
    now: datetime,
    *,
    max_skew_s: float = 5.0,
    max_age_s: float | None = None,
) -> OrderIntent:
    """A complete OrderIntent from ``obj``, or IntentValidationError naming the wrong field."""
    return parse_intent_detailed(obj, instruments, now, max_skew_s=max_skew_s, max_age_s=max_age_s).intent
