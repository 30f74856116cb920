"""The conformance kit's working context: one per case, around a broker and its venue controller.

``Kit`` opens an ``EventTap`` on the broker, reads the instrument, sets the venue's last price, and gives
the cases small verbs (build and submit orders, push bars, wait for outcomes, settle). On exit it checks
the per-order event rules over everything the broker emitted during the case.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tradebot.brokers.protocol import Broker
from tradebot.domain.bars import Bar
from tradebot.domain.events import BrokerEvent, OrderFilled, OrderRejected
from tradebot.domain.instruments import Instrument, PriceRounding
from tradebot.domain.orders import Bracket, OrderRequest, OrderType, Side, TimeInForce
from tradebot.testing.controller import VenueController
from tradebot.testing.events import EventTap

ZERO = Decimal(0)
AWAY = Decimal("0.03")  # "far from the market": 3 % away, inside the price bands of real venues


@dataclass(frozen=True, slots=True)
class KitSettings:
    """What the plugin's fixtures tell the kit (see ``tradebot.testing.pytest_plugin``)."""

    symbol: str
    price: Decimal  # a realistic price for ``symbol`` at the venue
    qty: Decimal | None = None  # order size; None: the instrument's smallest valid quantity
    timeout: float = 5.0  # seconds any single wait may take
    bar_size_s: int = 60


class Kit:
    def __init__(self, broker: Broker, venue: VenueController, settings: KitSettings, case: str) -> None:
        self.broker = broker
        self.venue = venue
        self.settings = settings
        self.case = case
        self.tap = EventTap(broker, settings.timeout)
        self._token = uuid.uuid4().hex[:6]
        self._n = 0
        now = datetime.now(UTC)
        step = settings.bar_size_s
        self._bar_ts = datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)
        self.started = self._bar_ts - timedelta(seconds=step)
        self.quantities: dict[str, Decimal] = {}
        self.instrument: Instrument
        self.price: Decimal
        self.qty: Decimal
        self.start_position = ZERO

    async def __aenter__(self) -> Kit:
        await self.tap.start()
        self.instrument = await self.broker.instrument(self.settings.symbol)
        self.price = self.instrument.round_price(self.settings.price)
        if self.settings.qty is not None:
            self.qty = self.settings.qty
        else:
            self.qty = max(self.instrument.min_qty, self.instrument.lot_step)
        await self.venue.set_last_price(self.settings.symbol, self.price)
        self.start_position = await self.venue_position()
        return self

    async def __aexit__(self, exc_type: object, *rest: object) -> None:
        await self.tap.stop()
        if exc_type is None:
            problems = self.tap.problems(self.quantities)
            assert not problems, f"{self.case}: event rules broken:\n  " + "\n  ".join(problems)

    async def switch_broker(self, broker: Broker) -> None:
        """Follow a new broker (after a restart): the old tap is checked and stopped, a new one starts."""
        await self.tap.stop()
        problems = self.tap.problems(self.quantities)
        assert not problems, f"{self.case}: event rules broken before restart:\n  " + "\n  ".join(problems)
        accepted = self.tap.accepted_ids()
        self.broker = broker
        self.tap = EventTap(broker, self.settings.timeout, carried=frozenset(self.quantities),
                            accepted_before=accepted)
        await self.tap.start()

    # --- ids, prices, bars --------------------------------------------------------------------------
    def cid(self) -> str:
        self._n += 1
        return f"k{self.case}{self._token}n{self._n}"

    def away(self, side: Side) -> Decimal:
        """A limit price that will not fill soon: below the market for a buy, above it for a sell."""
        if side is Side.BUY:
            return self.instrument.round_price(self.price * (1 - AWAY), PriceRounding.DOWN)
        return self.instrument.round_price(self.price * (1 + AWAY), PriceRounding.UP)

    def next_bar(self, *, open_: Decimal | None = None, high: Decimal | None = None,
                 low: Decimal | None = None, close: Decimal | None = None) -> Bar:
        """The next bar of the symbol, flat at the kit's price unless told otherwise."""
        o = open_ if open_ is not None else self.price
        c = close if close is not None else o
        h = high if high is not None else max(o, c)
        lo = low if low is not None else min(o, c)
        bar = Bar(self.settings.symbol, self._bar_ts, float(o), float(h), float(lo), float(c), 10.0,
                  self.settings.bar_size_s)
        self._bar_ts += timedelta(seconds=self.settings.bar_size_s)
        return bar

    async def push_bar(self, **prices: Decimal) -> Bar:
        bar = self.next_bar(**prices)
        await self.venue.push_bar(bar)
        return bar

    # --- orders -------------------------------------------------------------------------------------
    def order(self, side: Side, order_type: OrderType = OrderType.LIMIT, *, qty: Decimal | None = None,
              limit: Decimal | None = None, stop: Decimal | None = None, reduce_only: bool = False,
              bracket: Bracket | None = None, cid: str | None = None) -> OrderRequest:
        if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and limit is None:
            limit = self.away(side)
        cid = cid or self.cid()
        return OrderRequest(
            client_order_id=cid, intent_id=cid, symbol=self.settings.symbol, side=side,
            quantity=qty if qty is not None else self.qty, order_type=order_type, ts=datetime.now(UTC),
            limit_price=limit, stop_price=stop, tif=TimeInForce.GTC if order_type is not OrderType.MARKET
            else TimeInForce.DAY, reduce_only=reduce_only, bracket=bracket,
        )

    async def submit(self, request: OrderRequest) -> OrderRequest:
        self.quantities.setdefault(request.client_order_id, request.quantity)
        await self.broker.submit(request)
        return request

    async def place(self, request: OrderRequest) -> OrderRequest:
        """Submit and wait until the venue accepted it (a rejection fails the case with its reason)."""
        await self.submit(request)
        outcome = await self.tap.expect_outcome(request.client_order_id)
        if isinstance(outcome, OrderRejected):
            raise AssertionError(
                f"{request.client_order_id} ({request.order_type} {request.side} {request.quantity} "
                f"limit={request.limit_price} stop={request.stop_price}) was rejected: {outcome.reason} "
                f"[{outcome.venue_code}]"
            )
        return request

    async def open_position(self, side: Side = Side.BUY) -> list[OrderFilled]:
        """A market order, filled (the venue fills market orders at the latest on the next bar)."""
        request = await self.place(self.order(side, OrderType.MARKET))
        if not self.tap.fills(request.client_order_id):
            await self.push_bar()
        return await self.tap.expect_filled(request.client_order_id, request.quantity)

    async def cancel(self, client_order_id: str) -> BrokerEvent:
        await self.broker.cancel(client_order_id)
        return await self.tap.expect_terminal(client_order_id)

    async def settle(self) -> None:
        """A barrier: a new order placed and canceled. Events the venue sent before it have arrived."""
        request = await self.place(self.order(Side.BUY))
        await self.broker.cancel(request.client_order_id)
        await self.tap.expect("order_canceled", request.client_order_id)

    # --- positions ----------------------------------------------------------------------------------
    async def venue_position(self) -> Decimal:
        for position in await self.venue.venue_positions():
            if position.symbol == self.settings.symbol:
                return position.quantity
        return ZERO

    async def broker_position(self) -> Decimal:
        for position in await self.broker.positions():
            if position.symbol == self.settings.symbol:
                return position.quantity
        return ZERO
