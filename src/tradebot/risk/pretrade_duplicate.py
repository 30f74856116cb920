"""Pre-trade control (exits too): never the same order twice. Blocks an intent already sent
(same intent id, hence the same deterministic client order id) or one with the same
(symbol, side, quantity, bar) as an order already sent: DUPLICATE_ORDER_BLOCK."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.verdict import Verdict

# The key's texts of recent quantities (by their exact text) and bar times (UTC datetimes: equal ones print
# the same), kept between calls: every intent and every order of a bar asks for the same few. Bounded.
_QTY_TEXT: dict[str, str] = {}
_TS_TEXT: dict[datetime, str] = {}
_KEEP = 4096


def _qty_text(quantity: Decimal) -> str:
    if type(quantity) is not Decimal:
        return format(quantity.normalize(), "f")
    exact = str(quantity)
    text = _QTY_TEXT.get(exact)
    if text is None:
        text = format(quantity.normalize(), "f")
        if len(_QTY_TEXT) >= _KEEP:
            _QTY_TEXT.clear()
        _QTY_TEXT[exact] = text
    return text


def _ts_text(bar_ts: datetime) -> str:
    if type(bar_ts) is not datetime or bar_ts.tzinfo is not UTC:
        return bar_ts.isoformat()
    text = _TS_TEXT.get(bar_ts)
    if text is None:
        text = bar_ts.isoformat()
        if len(_TS_TEXT) >= _KEEP:
            _TS_TEXT.clear()
        _TS_TEXT[bar_ts] = text
    return text


def order_key(symbol: str, side: str, quantity: Decimal, bar_ts: datetime) -> tuple[str, str, str, str]:
    """The (symbol, side, qty, bar) duplicate key; quantities compare by value (1 == 1.00)."""
    return (symbol, side, _qty_text(quantity), _ts_text(bar_ts))


def intent_key(intent: OrderIntent) -> tuple[str, str, str, str]:
    return order_key(intent.symbol, intent.side.value, intent.quantity, intent.bar_ts or intent.ts)


class DuplicateOrderGate:
    name = "duplicate_order"
    applies_to_exits = True

    def __init__(self) -> None:
        self._pass = Verdict.passed(self.name)  # frozen: one instance for every intent it passes

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        if intent.intent_id in ctx.submitted_intent_ids:
            return Verdict.blocked(
                self.name,
                reasons.DUPLICATE_ORDER_BLOCK,
                problem="same_client_order_id",
                intent_id=intent.intent_id,
            )
        key = intent_key(intent)
        if key in ctx.submitted_keys:
            return Verdict.blocked(
                self.name, reasons.DUPLICATE_ORDER_BLOCK, problem="same_symbol_side_qty_bar", key=list(key)
            )
        return self._pass
