"""Transaction cost analysis per order (keyed by client order id), from the store's events.

Sign convention: every cost is positive when it costs us. ``s`` is +1 for a BUY and -1 for a SELL;
``Q`` the filled quantity, ``M`` the instrument's point value (its multiplier; face / VWAP for an inverse
contract), ``VWAP`` the volume-weighted fill price.

- **arrival price** ``A`` (the benchmark): with a quote known at the arrival instant, the quote's mid
  (``quote_mid``); otherwise the close of the last bar at that instant (``bar_close``: for ``decision``
  arrival the decision's reference price). The arrival instant is the decision time (``decision``: the
  bar's close) or the order's submit time (``submit``). A bracket leg (stop / take-profit) has no
  decision of its own: its benchmark is its trigger level (``stop_level`` / ``target_level``).
- **implementation shortfall** ``IS = s·(VWAP − A)·Q·M + fees``; ``is_bps = IS / (A·Q·M) · 10⁴``, split into
  ``is_price_bps`` (the price move and slippage) and ``is_fee_bps`` (fees). Only the filled quantity counts
  (the unfilled rest is reported as ``unfilled_qty``, not priced).
- **spread paid**: with quotes, against the mid ``m`` of the quote known at the first fill:
  ``spread_paid_bps = s·(VWAP − m)/m · 10⁴`` (half the quoted spread for a fill at the touch; less with price
  improvement, negative when filled better than the mid). Without a quote, the spread model's half spread,
  ``spread_source = "proxy"`` and ``spread_model`` naming the model.
- **fill latency**: submit → first fill, in ms (venue execution times; none for a bracket leg).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from tradebot.analytics.proxy import CorwinSchultz, SpreadModel
from tradebot.analytics.store_view import BarRow, OrderRecord, StoreView
from tradebot.domain.codec import from_body
from tradebot.domain.quotes import Quote

ZERO = Decimal(0)
BPS = Decimal(10_000)
ArrivalMode = Literal["decision", "submit"]


class QuoteSource(Protocol):
    """A file's ``QuoteBook`` or a broker stream's ``LiveQuoteBook``."""

    @property
    def source(self) -> str: ...

    def at(self, when: datetime) -> Quote | None: ...


@dataclass(frozen=True, slots=True)
class TcaConfig:
    arrival: ArrivalMode = "decision"
    quotes: Mapping[str, QuoteSource] = field(default_factory=dict)  # by symbol
    proxy: SpreadModel = field(default_factory=CorwinSchultz)


@dataclass(frozen=True, slots=True)
class OrderTca:
    client_order_id: str
    intent_id: str
    symbol: str
    side: str
    order_type: str
    role: str  # entry | signal | stop | target | flatten | operator | time_stop
    venue: str
    profile: str
    sleeve: str
    status: str
    quantity: Decimal | None
    filled_qty: Decimal
    unfilled_qty: Decimal | None
    fills: int
    partial: bool  # a fill left quantity open (the venue's leaves_qty > 0)
    fill_vwap: Decimal | None
    fees: Decimal
    notional: Decimal  # VWAP·Q·M
    submitted_at: datetime | None
    arrival_mode: str
    arrival_time: datetime | None
    arrival_price: Decimal | None
    benchmark: str  # quote_mid | bar_close | stop_level | target_level | none
    arrival_bid: Decimal | None
    arrival_ask: Decimal | None
    quoted_spread_bps: Decimal | None  # (ask − bid)/mid at arrival (at the fill for a leg)
    first_fill_at: datetime | None
    fill_latency_ms: int | None
    is_cost: Decimal | None
    is_bps: Decimal | None
    is_price_bps: Decimal | None
    is_fee_bps: Decimal | None
    mid_at_fill: Decimal | None
    spread_paid_bps: Decimal | None
    spread_paid_cost: Decimal | None
    spread_source: str  # quotes | proxy | none (nothing filled)
    spread_model: str  # quotes:<file> or the proxy model's name
    cancel_requests: int
    reason: str
    pending: bool = False  # written while still unfilled after the configured time (tca_watch)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> OrderTca:
        """A record as ``as_dict`` wrote it (an ``order_tca`` event of the store)."""
        return from_body(cls, body)


def plain(value: Any) -> Any:
    """JSON-ready: Decimals as exact fixed-point strings (never ``0E-8``), times as ISO strings."""
    if isinstance(value, Decimal):
        return format(value.normalize() if value != ZERO else ZERO, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def order_tca(view: StoreView, config: TcaConfig | None = None) -> list[OrderTca]:
    """One record per order with an event in the window, in the order the store first saw them.

    With ``config`` every record is computed from the store's events with those settings. Without, each
    order's record is the one the run wrote (its latest ``order_tca`` event: the run's quotes, arrival and
    proxy settings); an order the run wrote none for yet (still working) is computed with the defaults."""
    closes = {symbol: [b.close_ts for b in bars] for symbol, bars in view.bars.items()}
    records = {} if config is not None else view.tca_records
    config = config or TcaConfig()
    return [
        OrderTca.from_dict(records[order.client_order_id])
        if order.client_order_id in records
        else order_record(view, config, order, view.bars.get(order.symbol, []), closes.get(order.symbol, []))
        for order in view.orders.values()
        if order.in_window
    ]


def role_of(view: StoreView, order: OrderRecord) -> str:
    if order.leg:
        return "stop" if order.leg == "sl" else "target"
    decision = view.decisions_by_intent.get(order.intent_id)
    source = decision.source if decision is not None else ""
    if source in ("flatten", "operator", "time_stop"):
        return source
    return "signal" if order.reduce_only else "entry"


def order_record(
    view: StoreView, config: TcaConfig, order: OrderRecord, bars: Sequence[BarRow], closes: Sequence[datetime]
) -> OrderTca:
    decision = view.decisions_by_intent.get(order.intent_id) if not order.leg else None
    sign = Decimal(1) if order.side == "BUY" else Decimal(-1)
    filled = sum((f.quantity for f in order.fills), ZERO)
    fees = sum((f.fee for f in order.fills), ZERO)
    notional_points = sum((f.quantity * f.price for f in order.fills), ZERO)
    vwap = notional_points / filled if filled else None
    point_value = view.point_value(order.symbol, vwap) if vwap else ZERO
    first_fill = min((f.ts for f in order.fills), default=None)
    book = config.quotes.get(order.symbol)

    arrival_time, arrival_price, benchmark, arrival_quote = _arrival(
        config, order, decision, book, bars, closes
    )
    quoted = _quoted_bps(arrival_quote)
    is_cost = is_bps = is_price = is_fee = None
    if vwap is not None and arrival_price:
        base = arrival_price * filled * point_value
        price_cost = sign * (vwap - arrival_price) * filled * point_value
        is_cost = price_cost + fees
        is_price = _bps(price_cost / base)
        is_fee = _bps(fees / base)
        is_bps = _bps(is_cost / base)

    fill_quote = book.at(first_fill) if book is not None and first_fill is not None else None
    mid_at_fill = spread_bps = spread_cost = None
    if fill_quote is not None:
        source, model = "quotes", f"quotes:{book.source}" if book is not None else ""
        if quoted is None:
            quoted = _quoted_bps(fill_quote)
        if vwap is not None:
            mid_at_fill = fill_quote.mid
            spread_bps = _bps(sign * (vwap - mid_at_fill) / mid_at_fill)
            spread_cost = sign * (vwap - mid_at_fill) * filled * point_value
    elif not order.fills:
        source, model = "none", ""  # nothing filled: no spread was paid
    else:
        source, model = "proxy", config.proxy.name
        when = first_fill or arrival_time
        full = config.proxy.spread_bps(bars, closes, when) if when is not None else None
        if full is not None and vwap is not None:
            half = Decimal(str(round(full / 2, 6)))
            spread_bps = _bps(half / BPS)
            spread_cost = half / BPS * vwap * filled * point_value
    latency = None
    if first_fill is not None and order.submitted_at is not None and not order.leg:
        latency = int((first_fill - order.submitted_at).total_seconds() * 1000)
    profile = decision.profile if decision is not None else view.profile
    sleeve = decision.sleeve if decision is not None else ""
    return OrderTca(
        client_order_id=order.client_order_id,
        intent_id=order.intent_id,
        symbol=order.symbol,
        side=order.side,
        order_type=order.order_type,
        role=role_of(view, order),
        venue=view.venue(order.symbol),
        profile=profile,
        sleeve=sleeve,
        status=_status(order, filled),
        quantity=order.quantity,
        filled_qty=filled,
        unfilled_qty=None if order.quantity is None else order.quantity - filled,
        fills=len(order.fills),
        partial=any(f.leaves_qty > ZERO for f in order.fills),
        fill_vwap=vwap,
        fees=fees,
        notional=notional_points * point_value,
        submitted_at=order.submitted_at,
        arrival_mode=config.arrival,
        arrival_time=arrival_time,
        arrival_price=arrival_price,
        benchmark=benchmark,
        arrival_bid=arrival_quote.bid if arrival_quote else None,
        arrival_ask=arrival_quote.ask if arrival_quote else None,
        quoted_spread_bps=quoted,
        first_fill_at=first_fill,
        fill_latency_ms=latency,
        is_cost=is_cost,
        is_bps=is_bps,
        is_price_bps=is_price,
        is_fee_bps=is_fee,
        mid_at_fill=mid_at_fill,
        spread_paid_bps=spread_bps,
        spread_paid_cost=spread_cost,
        spread_source=source,
        spread_model=model,
        cancel_requests=order.cancel_requests,
        reason=order.reason,
    )


def _arrival(
    config: TcaConfig,
    order: OrderRecord,
    decision: Any,
    book: QuoteSource | None,
    bars: Sequence[BarRow],
    closes: Sequence[datetime],
) -> tuple[datetime | None, Decimal | None, str, Quote | None]:
    if order.leg:
        kind = "stop_level" if order.leg == "sl" else "target_level"
        return None, order.trigger_price, kind if order.trigger_price is not None else "none", None
    if config.arrival == "submit" and order.submitted_at is not None:
        when: datetime | None = order.submitted_at
    else:
        when = decision.ts if decision is not None else order.submitted_at
    if when is None:
        return None, None, "none", None
    quote = book.at(when) if book is not None else None
    if quote is not None:
        return when, quote.mid, "quote_mid", quote
    if config.arrival == "decision" and decision is not None and decision.reference_price is not None:
        return when, decision.reference_price, "bar_close", None
    index = bisect.bisect_right(closes, when)
    if index == 0:
        return when, None, "none", None
    return when, bars[index - 1].close, "bar_close", None


def _quoted_bps(quote: Quote | None) -> Decimal | None:
    if quote is None or quote.mid <= ZERO:
        return None
    return _bps(quote.spread / quote.mid)


def _bps(fraction: Decimal) -> Decimal:
    return (fraction * BPS).quantize(Decimal("0.0001"))


def order_status(order: OrderRecord) -> str:
    """The status an order's record gives it (``OrderTca.status``)."""
    return _status(order, sum((f.quantity for f in order.fills), ZERO))


def _status(order: OrderRecord, filled: Decimal) -> str:
    if order.quantity is not None and filled >= order.quantity and filled > ZERO:
        return "FILLED"
    if order.rejected:
        return "REJECTED"
    if order.abandoned:
        return "ABANDONED"
    if order.canceled:
        return "CANCELED" if filled == ZERO else "PARTIALLY_FILLED_CANCELED"
    if order.expired:
        return "EXPIRED"
    return "PARTIALLY_FILLED" if filled > ZERO else "WORKING"
