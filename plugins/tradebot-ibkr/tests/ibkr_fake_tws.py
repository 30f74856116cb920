"""A local fake TWS / IB Gateway speaking the real TWS socket protocol (text protocol, server version 176).

Framing: 4-byte big-endian length + NUL-terminated fields. Handshake: ``API\\0`` + framed ``v<min>..<max>``,
answered by one frame ``[serverVersion, connectionTime]``; then START_API (71) → nextValidId (9) +
managedAccounts (15) + farm-status notices (2104/2106/2158). Message layouts follow IBKR's own ``ibapi``
decoder at server version 176 (checked field by field in ``test_ibkr_fake_fidelity.py``).

Known gaps vs a real TWS (fine for adapter tests): no market-data ticks, no historical data, no whatIf, no
price-increment validation (error 110), no repeated openOrder/orderStatus chatter, untransmitted (transmit=0)
orders are silent until their group transmits, completed orders (101) are not replayed (only the end marker
102), no portfolio (7) pushes after fills, pacing violations only when injected with ``fail_next``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tradebot.domain.bars import Bar
from tradebot.domain.events import OrderSnapshot, OrderStatus, PositionSnapshot
from tradebot.domain.orders import OrderType, Side, TimeInForce

SERVER_VERSION = 176
ACCOUNT = "DU1234567"
FIELD = str | int | float | Decimal

# --- wire helpers -----------------------------------------------------------------------------------


def fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def encode_payload(fields: Sequence[Any]) -> bytes:
    return "".join(fmt(f) + "\0" for f in fields).encode()


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> list[str]:
    header = await reader.readexactly(4)
    (size,) = struct.unpack(">I", header)
    body = await reader.readexactly(size)
    parts = body.decode(errors="backslashreplace").split("\0")
    return parts[:-1] if parts and parts[-1] == "" else parts


# --- contracts -------------------------------------------------------------------------------------

_MONTH_CODES = {3: "H", 6: "M", 9: "U", 12: "Z"}


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    offset = (4 - first.weekday()) % 7
    return first + timedelta(days=offset + 14)


@dataclass(frozen=True, slots=True)
class FakeContract:
    con_id: int
    symbol: str
    expiry: date
    multiplier: str
    min_tick: float
    exchange: str = "CME"
    currency: str = "USD"
    sec_type: str = "FUT"
    long_name: str = "Micro E-Mini S&P 500 Stock Price Index"

    @property
    def local_symbol(self) -> str:
        return f"{self.symbol}{_MONTH_CODES[self.expiry.month]}{self.expiry.year % 10}"

    @property
    def last_trade(self) -> str:
        return self.expiry.strftime("%Y%m%d")

    def wire12(self) -> list[Any]:
        """conId, symbol, secType, lastTradeDate, strike, right, multiplier, exchange, currency, localSymbol,
        tradingClass (the 11-field contract block of openOrder / execDetails / position without primExch)."""
        return [
            self.con_id,
            self.symbol,
            self.sec_type,
            self.last_trade,
            0.0,
            "",
            self.multiplier,
            self.exchange,
            self.currency,
            self.local_symbol,
            self.symbol,
        ]


def quarterly_contracts(
    symbol: str,
    start: date,
    count: int = 5,
    base_con_id: int = 730283000,
    multiplier: str = "5",
    min_tick: float = 0.25,
) -> list[FakeContract]:
    out: list[FakeContract] = []
    year, month = start.year, start.month
    while len(out) < count:
        if month in _MONTH_CODES:
            expiry = third_friday(year, month)
            if expiry >= start:
                out.append(
                    FakeContract(
                        base_con_id + len(out) * 7 + (year % 100) * 100 + month,
                        symbol,
                        expiry,
                        multiplier,
                        min_tick,
                    )
                )
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


# --- orders ----------------------------------------------------------------------------------------

WORKING = ("PreSubmitted", "Submitted")


@dataclass(slots=True)
class FakeOrder:
    order_id: int
    client_id: int
    perm_id: int
    contract: FakeContract
    action: str
    quantity: Decimal
    order_type: str
    lmt_price: float | None
    aux_price: float | None
    tif: str
    oca_group: str
    oca_type: int
    account: str
    order_ref: str
    transmit: bool
    parent_id: int
    status: str = "Held"  # Held: not transmitted yet (silent)
    filled: Decimal = Decimal(0)
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def is_working(self) -> bool:
        return self.status in WORKING

    @property
    def is_active(self) -> bool:
        """Working and not waiting for a parent fill."""
        return self.status == "Submitted"


@dataclass(frozen=True, slots=True)
class FakeExecution:
    exec_id: str
    order: FakeOrder
    time: datetime
    side: str
    shares: Decimal
    price: float
    cum_qty: Decimal
    avg_price: float
    commission: float


@dataclass(slots=True)
class Position:
    quantity: Decimal = Decimal(0)
    avg_cost: float = 0.0  # per contract, incl. multiplier (IB convention)


@dataclass(slots=True)
class Session:
    writer: asyncio.StreamWriter
    client_id: int = -1
    positions_subscribed: bool = False
    rt_bars: dict[int, int] = field(default_factory=dict)  # reqId -> conId
    closed: bool = False


# --- the server ------------------------------------------------------------------------------------


class FakeTws:
    """The venue: sessions, contracts, orders, executions, positions, and a matching engine."""

    def __init__(
        self,
        *,
        account: str = ACCOUNT,
        today: date | None = None,
        commission: float = 0.62,
        match_on_bars: bool = True,
        net_liquidation: str = "100000.00",
        buying_power: str = "400000.00",
        venue_time: str = "wall",
    ) -> None:
        if venue_time not in ("wall", "bars"):
            raise ValueError(f"venue_time must be 'wall' or 'bars', not {venue_time!r}")
        start = today or datetime.now(UTC).date()
        # "bars": the venue lives at the time of the bars it streams (the end of the last 5 s bar pushed),
        # so executions of a replayed day carry that day's time, as they did when it was live
        self.venue_time = venue_time
        self.bar_clock: datetime | None = None
        self.account = account
        self.contracts: list[FakeContract] = quarterly_contracts("MES", start) + quarterly_contracts(
            "ES", start, base_con_id=495512000, multiplier="50"
        )
        self.commission = commission
        self.match_on_bars = match_on_bars
        self.net_liquidation = net_liquidation
        self.buying_power = buying_power
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.sessions: list[Session] = []
        self.sent: list[bytes] = []  # every payload written (handshake reply excluded), for fidelity tests
        self.received: list[list[str]] = []
        self.orders: dict[tuple[int, int], FakeOrder] = {}
        self.executions: list[FakeExecution] = []
        self.positions: dict[int, Position] = {}
        self.last_price: dict[int, float] = {}
        self.next_order_id = 1
        self._perm_ids = itertools.count(1_000_001)
        self._exec_seq = itertools.count(1)
        self._pending_faults: list[str] = []
        self._reject_next: str | None = None
        self.refuse_connections = False
        # race injection: a working order this returns True for fills (at its own price) just before a
        # cancel for it arrives, as when the fill and the cancel cross on the wire (one shot per order)
        self.fill_on_cancel: Callable[[FakeOrder], bool] | None = None

    # ----- lifecycle
    async def start(self) -> FakeTws:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        await self.drop_all()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def drop_all(self) -> None:
        for session in list(self.sessions):
            await self._close(session)

    # ----- helpers
    def contract_by_id(self, con_id: int) -> FakeContract | None:
        return next((c for c in self.contracts if c.con_id == con_id), None)

    def now(self) -> datetime:
        """The venue's time: the wall clock, or (``venue_time="bars"``) the end of the last 5 s bar."""
        if self.venue_time == "bars" and self.bar_clock is not None:
            return self.bar_clock
        return datetime.now(UTC).replace(microsecond=0)

    def front(self, symbol: str) -> FakeContract:
        return min((c for c in self.contracts if c.symbol == symbol), key=lambda c: c.expiry)

    def live_sessions(self) -> list[Session]:
        return [s for s in self.sessions if not s.closed and s.client_id >= 0]

    async def send(self, session: Session, *fields: Any) -> None:
        if session.closed:
            return
        payload = encode_payload(fields)
        self.sent.append(payload)
        try:
            session.writer.write(frame(payload))
            await session.writer.drain()
        except (ConnectionError, RuntimeError):
            await self._close(session)

    async def error(self, session: Session, req_id: int, code: int, text: str) -> None:
        await self.send(session, 4, 2, req_id, code, text, "")

    async def _close(self, session: Session) -> None:
        if session.closed:
            return
        session.closed = True
        with contextlib.suppress(Exception):
            session.writer.close()
        if session in self.sessions:
            self.sessions.remove(session)

    # ----- connection handling
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(writer)
        if self.refuse_connections:
            writer.close()
            return
        self.sessions.append(session)
        try:
            prefix = await reader.readexactly(4)
            if prefix != b"API\0":
                raise ConnectionError("bad handshake prefix")
            hello = await read_frame(reader)
            versions = hello[0].split(" ")[0].lstrip("v").split("..")
            version = min(SERVER_VERSION, int(versions[-1]))
            conn_time = datetime.now(UTC).strftime("%Y%m%d %H:%M:%S") + " Greenwich Mean Time"
            writer.write(frame(encode_payload([version, conn_time])))
            await writer.drain()
            while not session.closed:
                fields = await read_frame(reader)
                self.received.append(fields)
                await self._dispatch(session, fields)
        except (asyncio.IncompleteReadError, ConnectionError, OSError, asyncio.CancelledError):
            pass  # the peer went away or the server is stopping: the session ends either way
        finally:
            await self._close(session)

    async def _dispatch(self, session: Session, f: list[str]) -> None:
        msg_id = int(f[0])
        if msg_id == 71:
            await self._start_api(session, int(f[2]))
            return
        if self._pending_faults and msg_id in (3, 5, 7, 9, 50, 61, 62):
            fault = self._pending_faults.pop(0)
            if await self._inject_fault(session, fault, f):
                return
        handler = {
            61: self._req_positions,
            64: self._noop,
            5: self._req_open_orders,
            99: self._req_completed,
            6: self._req_account_updates,
            76: self._req_account_updates_multi,
            7: self._req_executions,
            8: self._req_ids,
            9: self._req_contract_details,
            50: self._req_rt_bars,
            51: self._cancel_rt_bars,
            3: self._place_order,
            4: self._cancel_order,
            58: self._global_cancel,
            62: self._req_acct_summary,
            63: self._noop,
            49: self._req_current_time,
            59: self._noop,
            77: self._noop,
        }.get(msg_id)
        if handler is not None:
            await handler(session, f)

    async def _noop(self, session: Session, f: list[str]) -> None:
        return None

    async def _inject_fault(self, session: Session, fault: str, f: list[str]) -> bool:
        msg_id = int(f[0])
        req_id = {3: int(f[1]), 7: int(f[2]), 9: int(f[2]), 50: int(f[2]), 62: int(f[2])}.get(msg_id, -1)
        if fault == "network":
            await self._close(session)
            return True
        if fault == "rate_limit":
            await self.error(
                session, req_id, 100, "Max rate of messages per second has been exceeded:max=50 rec=61"
            )
            return True
        if fault == "auth":
            await self.error(
                session, req_id, 10141, "Paper trading disclaimer must first be accepted for API connection."
            )
            return True
        return False

    async def _start_api(self, session: Session, client_id: int) -> None:
        if any(s.client_id == client_id for s in self.live_sessions()):
            await self.error(
                session,
                -1,
                326,
                "Unable to connect as the client id is already in use. Retry with a unique client id.",
            )
            await self._close(session)
            return
        session.client_id = client_id
        await self.send(session, 9, 1, self._next_valid_id(client_id))
        await self.send(session, 15, 1, self.account)
        for code, text in (
            (2104, "Market data farm connection is OK:usfarm"),
            (2106, "HMDS data farm connection is OK:ushmds"),
            (2158, "Sec-def data farm connection is OK:secdefnj"),
        ):
            await self.error(session, -1, code, text)

    def _next_valid_id(self, client_id: int) -> int:
        used = [oid for (cid, oid) in self.orders if cid == client_id]
        self.next_order_id = max([self.next_order_id, *(u + 1 for u in used)])
        return self.next_order_id

    # ----- account, positions
    async def _req_positions(self, session: Session, f: list[str]) -> None:
        session.positions_subscribed = True
        for con_id, pos in self.positions.items():
            await self._send_position(session, con_id, pos)
        await self.send(session, 62, 1)

    async def _send_position(self, session: Session, con_id: int, pos: Position) -> None:
        c = self.contract_by_id(con_id)
        assert c is not None
        await self.send(session, 61, 3, self.account, *c.wire12()[:10], c.symbol, pos.quantity, pos.avg_cost)

    async def _req_account_updates(self, session: Session, f: list[str]) -> None:
        for key, value, cur in self._account_values():
            await self.send(session, 6, 2, key, value, cur, self.account)
        await self.send(session, 8, 1, datetime.now(UTC).strftime("%H:%M"))
        await self.send(session, 54, 1, self.account)

    async def _req_account_updates_multi(self, session: Session, f: list[str]) -> None:
        req_id = int(f[2])
        for key, value, cur in self._account_values():
            await self.send(session, 73, 1, req_id, self.account, "", key, value, cur)
        await self.send(session, 74, 1, req_id)

    def _account_values(self) -> list[tuple[str, str, str]]:
        return [
            ("NetLiquidation", self.net_liquidation, "USD"),
            ("BuyingPower", self.buying_power, "USD"),
            ("TotalCashValue", self.net_liquidation, "USD"),
            ("AccountType", "INDIVIDUAL", ""),
        ]

    async def _req_acct_summary(self, session: Session, f: list[str]) -> None:
        req_id, tags = int(f[2]), f[4].split(",")
        for key, value, cur in self._account_values():
            if key in tags:
                await self.send(session, 63, 1, req_id, self.account, key, value, cur)
        await self.send(session, 64, 1, req_id)

    async def _req_ids(self, session: Session, f: list[str]) -> None:
        await self.send(session, 9, 1, self._next_valid_id(session.client_id))

    async def _req_current_time(self, session: Session, f: list[str]) -> None:
        await self.send(session, 49, 1, int(self.now().timestamp()))

    # ----- contract details
    def _match_contracts(self, f: list[str], first: int) -> list[FakeContract]:
        con_id, symbol, sec_type, last_trade = f[first], f[first + 1], f[first + 2], f[first + 3]
        local_symbol = f[first + 10]
        out = []
        for c in self.contracts:
            if con_id not in ("", "0"):
                if str(c.con_id) == con_id:
                    out.append(c)
                continue
            if symbol and c.symbol != symbol and not local_symbol:
                continue
            if sec_type and sec_type != c.sec_type:
                continue
            if last_trade and not c.last_trade.startswith(last_trade):
                continue
            if local_symbol and c.local_symbol != local_symbol:
                continue
            out.append(c)
        return out

    async def _req_contract_details(self, session: Session, f: list[str]) -> None:
        req_id = int(f[2])
        matches = self._match_contracts(f, 3)
        if not matches:
            await self.error(session, req_id, 200, "No security definition has been found for the request")
            return
        for c in matches:
            await self.send(
                session,
                10,
                req_id,
                c.symbol,
                c.sec_type,
                c.last_trade,
                0.0,
                "",
                c.exchange,
                c.currency,
                c.local_symbol,
                c.symbol,
                c.symbol,
                c.con_id,
                c.min_tick,
                c.multiplier,
                "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,GAT,GTC,GTD,LIT,LMT,MIT,MKT,OCA,STP,STPLMT,TRAIL",
                "CME,QBALGO",
                1,
                11004968,
                c.long_name,
                "",
                c.expiry.strftime("%Y%m"),
                "",
                "",
                "",
                "US/Central",
                "20261121:1700-20261122:1600",
                "20261122:0830-20261122:1600",
                "",
                "",
                0,
                0,
                "ES",
                "IND",
                "67",
                c.last_trade,
                "",
                "1",
                "1",
                "1",
            )
        await self.send(session, 52, 1, req_id)

    # ----- real-time bars
    async def _req_rt_bars(self, session: Session, f: list[str]) -> None:
        req_id = int(f[2])
        matches = self._match_contracts(f, 3)
        if len(matches) != 1:
            await self.error(session, req_id, 200, "No security definition has been found for the request")
            return
        session.rt_bars[req_id] = matches[0].con_id

    async def _cancel_rt_bars(self, session: Session, f: list[str]) -> None:
        session.rt_bars.pop(int(f[2]), None)

    async def push_5s_bar(
        self, con_id: int, epoch: int, o: float, h: float, low: float, c: float, volume: float
    ) -> None:
        wap = round((o + h + low + c) / 4, 4)
        self.bar_clock = datetime.fromtimestamp(epoch + 5, UTC)
        for session in self.live_sessions():
            for req_id, sub in list(session.rt_bars.items()):
                if sub == con_id:
                    await self.send(session, 50, 3, req_id, epoch, o, h, low, c, volume, wap, 1)
        self.last_price[con_id] = c
        if self.match_on_bars:
            await self._match(con_id, o, h, low, c)

    # ----- orders
    def _session_for(self, client_id: int) -> list[Session]:
        return [s for s in self.live_sessions() if s.client_id == client_id]

    async def _place_order(self, session: Session, f: list[str]) -> None:
        order_id = int(f[1])
        matches = self._match_contracts(f, 2)
        if len(matches) != 1:
            await self.error(session, order_id, 200, "No security definition has been found for the request")
            return
        key = (session.client_id, order_id)
        existing = self.orders.get(key)
        if existing is not None and existing.status not in ("Held",):
            await self.error(session, order_id, 103, "Duplicate order id")
            return
        order = FakeOrder(
            order_id=order_id,
            client_id=session.client_id,
            perm_id=next(self._perm_ids),
            contract=matches[0],
            action=f[16],
            quantity=Decimal(f[17]),
            order_type=f[18],
            lmt_price=float(f[19]) if f[19] else None,
            aux_price=float(f[20]) if f[20] else None,
            tif=f[21],
            oca_group=f[22],
            oca_type=int(f[47] or 0),
            account=f[23] or self.account,
            order_ref=f[26],
            transmit=f[27] == "1",
            parent_id=int(f[28] or 0),
        )
        self.orders[key] = order
        self.next_order_id = max(self.next_order_id, order_id + 1)
        if self._reject_next is not None:
            reason, self._reject_next = self._reject_next, None
            order.status = "Cancelled"
            await self.error(session, order_id, 201, f"Order rejected - reason:{reason}")
            return
        if not order.transmit:
            return  # held silently until the group's last order transmits
        group = self._group_of(order)
        root = self.orders.get((order.client_id, order.parent_id)) if order.parent_id else None
        if root is not None and root.status == "Cancelled":
            for member in group:
                member.status = "Cancelled"
                await self.error(
                    session, member.order_id, 201, "Order rejected - reason:Parent order is not active"
                )
            return
        for member in group:
            member.transmit = True
            parent = self.orders.get((member.client_id, member.parent_id)) if member.parent_id else None
            member.status = (
                "PreSubmitted" if parent is not None and parent.status != "Filled" else "Submitted"
            )
        for member in group:
            await self._send_open_order(member)
            await self._send_status(member)
        for member in group:
            await self._maybe_fill_market(member)

    def _group_of(self, order: FakeOrder) -> list[FakeOrder]:
        root_id = order.parent_id or order.order_id
        members = [
            o
            for o in self.orders.values()
            if o.client_id == order.client_id
            and o.status == "Held"
            and (o.order_id == root_id or o.parent_id == root_id)
        ]
        members.sort(key=lambda o: o.order_id)
        return members

    async def _maybe_fill_market(self, order: FakeOrder) -> None:
        if order.order_type == "MKT" and order.is_active and order.contract.con_id in self.last_price:
            await self.execute(order, self.last_price[order.contract.con_id], order.remaining)

    async def _send_open_order(self, o: FakeOrder) -> None:
        for session in self._session_for(o.client_id):
            await self.send(session, *open_order_fields(o))

    async def _send_status(self, o: FakeOrder) -> None:
        for session in self._session_for(o.client_id):
            await self.send(
                session,
                3,
                o.order_id,
                o.status,
                o.filled,
                o.remaining,
                o.avg_fill_price,
                o.perm_id,
                o.parent_id,
                o.last_fill_price,
                o.client_id,
                "",
                0.0,
            )

    async def _cancel_order(self, session: Session, f: list[str]) -> None:
        order_id = int(f[2])
        order = self.orders.get((session.client_id, order_id))
        if order is not None and order.is_active and self.fill_on_cancel and self.fill_on_cancel(order):
            own = order.aux_price if order.aux_price is not None else order.lmt_price
            price = own if own is not None else self.last_price[order.contract.con_id]
            await self.execute(order, price, order.remaining)  # then the cancel finds it filled: 10147
        if order is None or not order.is_working:
            await self.error(
                session, order_id, 10147, f"OrderId {order_id} that needs to be cancelled is not found."
            )
            return
        await self._cancel(order)

    async def _cancel(self, order: FakeOrder, reason: str = "") -> None:
        order.status = "Cancelled"
        await self._send_status(order)
        for session in self._session_for(order.client_id):
            await self.error(session, order.order_id, 202, f"Order Canceled - reason:{reason}")
        for child in [
            o
            for o in self.orders.values()
            if o.client_id == order.client_id and o.parent_id == order.order_id and o.is_working
        ]:
            await self._cancel(child, "parent cancelled")

    async def _global_cancel(self, session: Session, f: list[str]) -> None:
        for order in [o for o in self.orders.values() if o.is_working and o.parent_id == 0]:
            await self._cancel(order)
        for order in [o for o in self.orders.values() if o.is_working]:
            await self._cancel(order)

    # ----- executions
    async def execute(self, order: FakeOrder, price: float, qty: Decimal) -> FakeExecution:
        qty = min(qty, order.remaining)
        if qty <= 0 or not order.is_working:
            raise ValueError(
                f"order {order.order_id} is not fillable ({order.status}, remaining {order.remaining})"
            )
        prev_value = float(order.filled) * order.avg_fill_price
        order.filled += qty
        order.avg_fill_price = (prev_value + float(qty) * price) / float(order.filled)
        order.last_fill_price = price
        order.status = "Filled" if order.remaining == 0 else "Submitted"
        ex = FakeExecution(
            exec_id=f"0000e0d5.{next(self._exec_seq):08x}.01.01",
            order=order,
            time=self.now(),
            side="BOT" if order.action == "BUY" else "SLD",
            shares=qty,
            price=price,
            cum_qty=order.filled,
            avg_price=order.avg_fill_price,
            commission=round(self.commission * float(qty), 2),
        )
        self.executions.append(ex)
        self._apply_position(order.contract, Decimal(1) if order.action == "BUY" else Decimal(-1), qty, price)
        await self._send_status(order)
        for session in self._session_for(order.client_id):
            await self.send(session, *exec_fields(-1, ex, self.account))
            await self.send(session, *commission_fields(ex))
        for session in self.live_sessions():
            if session.positions_subscribed:
                await self._send_position(
                    session, order.contract.con_id, self.positions[order.contract.con_id]
                )
        if order.status == "Filled":
            await self._after_full_fill(order)
        return ex

    async def _after_full_fill(self, order: FakeOrder) -> None:
        # children of a filled parent become active
        for child in [
            o
            for o in self.orders.values()
            if o.client_id == order.client_id and o.parent_id == order.order_id and o.status == "PreSubmitted"
        ]:
            child.status = "Submitted"
            await self._send_status(child)
            await self._maybe_fill_market(child)
        # one-cancels-all siblings
        if order.oca_group:
            for sibling in [
                o
                for o in self.orders.values()
                if o.oca_group == order.oca_group and o is not order and o.is_working
            ]:
                await self._cancel(sibling, "OCA group fill")

    def _apply_position(self, contract: FakeContract, sign: Decimal, qty: Decimal, price: float) -> None:
        pos = self.positions.setdefault(contract.con_id, Position())
        mult = float(contract.multiplier)
        new_qty = pos.quantity + sign * qty
        if pos.quantity == 0 or (pos.quantity > 0) == (sign > 0):
            total = float(abs(pos.quantity)) * pos.avg_cost + float(qty) * price * mult
            pos.avg_cost = total / float(abs(new_qty)) if new_qty != 0 else 0.0
        elif new_qty == 0:
            pos.avg_cost = 0.0
        elif (new_qty > 0) != (pos.quantity > 0):
            pos.avg_cost = price * mult
        pos.quantity = new_qty

    async def _match(self, con_id: int, o: float, h: float, low: float, c: float) -> None:
        for order in sorted(self.orders.values(), key=lambda x: x.order_id):
            if order.contract.con_id != con_id or not order.is_active:
                continue
            price = fill_price(order, o, h, low, c)
            if price is not None and order.is_active:
                await self.execute(order, price, order.remaining)

    async def _req_executions(self, session: Session, f: list[str]) -> None:
        req_id = int(f[2])
        since = parse_filter_time(f[5]) if len(f) > 5 and f[5] else None
        for ex in self.executions:
            if ex.order.client_id != session.client_id and session.client_id != 0:
                continue
            if since is not None and ex.time < since:
                continue
            await self.send(session, *exec_fields(req_id, ex, self.account))
            await self.send(session, *commission_fields(ex))
        await self.send(session, 55, 1, req_id)

    async def _req_open_orders(self, session: Session, f: list[str]) -> None:
        for order in sorted(self.orders.values(), key=lambda x: x.order_id):
            if order.client_id == session.client_id and order.is_working:
                await self.send(session, *open_order_fields(order))
                await self.send(
                    session,
                    3,
                    order.order_id,
                    order.status,
                    order.filled,
                    order.remaining,
                    order.avg_fill_price,
                    order.perm_id,
                    order.parent_id,
                    order.last_fill_price,
                    order.client_id,
                    "",
                    0.0,
                )
        await self.send(session, 53, 1)

    async def _req_completed(self, session: Session, f: list[str]) -> None:
        """Today's filled and cancelled orders (of every client: TWS answers with all API orders)."""
        for order in sorted(self.orders.values(), key=lambda x: x.order_id):
            if order.status in ("Filled", "Cancelled"):
                parent = self.orders.get((order.client_id, order.parent_id)) if order.parent_id else None
                await self.send(session, *completed_order_fields(order, parent.perm_id if parent else 0))
        await self.send(session, 102)

    # ----- test controls (venue side)
    def fail_next(self, kind: str) -> None:
        self._pending_faults.append(kind)

    def reject_next(self, reason: str) -> None:
        self._reject_next = reason

    def order_by_ref(self, order_ref: str) -> FakeOrder:
        found = [o for o in self.orders.values() if o.order_ref == order_ref]
        if not found:
            raise KeyError(f"no order with orderRef {order_ref!r}")
        return max(found, key=lambda o: o.perm_id)

    async def send_error_to_all(self, code: int, text: str) -> None:
        for session in self.live_sessions():
            await self.error(session, -1, code, text)


def fill_price(order: FakeOrder, o: float, h: float, low: float, c: float) -> float | None:
    buy = order.action == "BUY"
    if order.order_type == "MKT":
        return o
    if order.order_type == "LMT" and order.lmt_price is not None:
        if buy and low <= order.lmt_price:
            return min(order.lmt_price, o)
        if not buy and h >= order.lmt_price:
            return max(order.lmt_price, o)
    if order.order_type in ("STP", "STP LMT") and order.aux_price is not None:
        if buy and h >= order.aux_price:
            return max(order.aux_price, o)
        if not buy and low <= order.aux_price:
            return min(order.aux_price, o)
    return None


def parse_filter_time(text: str) -> datetime:
    text = text.strip()
    if "-" in text:
        return datetime.strptime(text, "%Y%m%d-%H:%M:%S").replace(tzinfo=UTC)
    return datetime.strptime(text[:17], "%Y%m%d %H:%M:%S").replace(tzinfo=UTC)


def exec_fields(req_id: int, ex: FakeExecution, account: str) -> list[Any]:
    o = ex.order
    return [
        11,
        req_id,
        o.order_id,
        *o.contract.wire12()[:10],
        o.contract.symbol,
        ex.exec_id,
        ex.time.strftime("%Y%m%d %H:%M:%S") + " UTC",
        account,
        o.contract.exchange,
        ex.side,
        ex.shares,
        ex.price,
        o.perm_id,
        o.client_id,
        0,
        ex.cum_qty,
        ex.avg_price,
        o.order_ref,
        "",
        "",
        "",
        2,
    ]


def commission_fields(ex: FakeExecution) -> list[Any]:
    return [59, 1, ex.exec_id, ex.commission, "USD", "1.7976931348623157E308", "1.7976931348623157E308", ""]


def completed_order_fields(o: FakeOrder, parent_perm_id: int) -> list[Any]:
    """COMPLETED_ORDER (101) at server version 176: the layout of ibapi's ``processCompletedOrderMsg``."""
    c = o.contract
    lmt = "" if o.lmt_price is None else o.lmt_price
    aux = "" if o.aux_price is None else o.aux_price
    completed_status = "Filled" if o.status == "Filled" else "Cancelled by Trader"
    # fmt: off
    return [
        101, c.con_id, c.symbol, c.sec_type, c.last_trade, 0.0, "", c.multiplier, c.exchange, c.currency,
        c.local_symbol, c.symbol,
        o.action, o.quantity, o.order_type, lmt, aux, o.tif, o.oca_group, o.account, "", 0, o.order_ref,
        o.perm_id, 0, 0, 0.0, "",  # permId, outsideRth, hidden, discretionaryAmt, goodAfterTime
        "", "", "", "",  # faGroup, faMethod, faPercentage, faProfile (< 177)
        "", "", "", "", "",  # modelCode, goodTillDate, rule80A, percentOffset, settlingFirm
        0, "", -1,  # shortSaleSlot, designatedLocation, exemptCode
        "", "", "", "", "",  # startingPrice, stockRefPrice, delta, stockRangeLower, stockRangeUpper
        "", 0, 0, "",  # displaySize, sweepToFill, allOrNone, minQty
        o.oca_type, 0,  # ocaType, triggerMethod
        "", 0, "", "",  # volatility, volatilityType, deltaNeutralOrderType, deltaNeutralAuxPrice
        0, 0, "", "",  # continuousUpdate, referencePriceType, trailStopPrice, trailingPercent
        "", 0, 0, 0,  # comboLegsDescrip, comboLegs, orderComboLegs, smartComboRoutingParams
        "", "", "",  # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement
        "",  # hedgeType
        "", "", 0, 0,  # clearingAccount, clearingIntent, notHeld, deltaNeutralContract present
        "", 0, o.status, 0, 0,  # algoStrategy, solicited, status, randomizeSize, randomizePrice
        0,  # conditions
        "", "", "", 0, 0,  # trailStopPrice, lmtPriceOffset, cashQty, dontUseAutoPriceForHedge, isOmsContainer
        "", o.filled, 0, 0, "",  # autoCancelDate, filledQuantity, refFuturesConId, autoCancelParent, holder
        0, 0, parent_perm_id,  # imbalanceOnly, routeMarketableToBbo, parentPermId
        datetime.now(UTC).strftime("%Y%m%d %H:%M:%S") + " UTC", completed_status,
        "", "", "", "", "",  # minTradeQty, minCompeteSize, competeAgainstBestOffset, midOffsetAtWhole/Half
    ]
    # fmt: on


def open_order_fields(o: FakeOrder) -> list[Any]:
    """OPEN_ORDER at server version 176 (>= ORDER_CONTAINER: no version field)."""
    c = o.contract
    lmt = "" if o.lmt_price is None else o.lmt_price
    aux = "" if o.aux_price is None else o.aux_price
    return [
        5,
        o.order_id,
        c.con_id,
        c.symbol,
        c.sec_type,
        c.last_trade,
        0.0,
        "",
        c.multiplier,
        c.exchange,
        c.currency,
        c.local_symbol,
        c.symbol,
        o.action,
        o.quantity,
        o.order_type,
        lmt,
        aux,
        o.tif,
        o.oca_group,
        o.account,
        "",
        0,
        o.order_ref,
        o.client_id,
        o.perm_id,
        0,
        0,
        0.0,
        "",  # outsideRth, hidden, discretionaryAmt, goodAfterTime
        "",  # sharesAllocation (deprecated)
        "",
        "",
        "",
        "",  # faGroup, faMethod, faPercentage, faProfile (< 177)
        "",  # modelCode
        "",
        "",
        "",
        "",  # goodTillDate, rule80A, percentOffset, settlingFirm
        0,
        "",
        -1,  # shortSaleSlot, designatedLocation, exemptCode
        0,  # auctionStrategy
        "",
        "",
        "",  # startingPrice, stockRefPrice, delta
        "",
        "",  # stockRangeLower, stockRangeUpper
        "",
        0,
        0,
        0,
        "",  # displaySize, blockOrder, sweepToFill, allOrNone, minQty
        o.oca_type,
        0,
        0,
        "",  # ocaType, eTradeOnly, firmQuoteOnly, nbboPriceCap
        o.parent_id,
        0,  # parentId, triggerMethod
        "",
        0,
        "",
        "",  # volatility, volatilityType, deltaNeutralOrderType, deltaNeutralAuxPrice
        0,
        0,  # continuousUpdate, referencePriceType
        "",
        "",  # trailStopPrice, trailingPercent
        "",
        "",  # basisPoints, basisPointsType
        "",
        0,
        0,  # comboLegsDescrip, comboLegs count, orderComboLegs count
        0,  # smartComboRoutingParams count
        "",
        "",
        "",  # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement
        "",  # hedgeType
        0,
        "",
        "",
        0,  # optOutSmartRouting, clearingAccount, clearingIntent, notHeld
        0,  # deltaNeutralContract present
        "",  # algoStrategy
        0,  # solicited
        0,
        o.status,  # whatIf, status
        "",
        "",
        "",
        "",
        "",
        "",  # init/maint/equityWithLoan before and change
        "",
        "",
        "",  # init/maint/equityWithLoan after
        "",
        "",
        "",
        "",  # commission, minCommission, maxCommission, commissionCurrency
        "",  # warningText
        0,
        0,  # randomizeSize, randomizePrice
        0,  # conditions count
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        0,  # adjusted order params (8)
        "",
        "",
        "",  # softDollarTier name, value, displayName
        "",  # cashQty
        0,
        0,
        0,
        0,  # dontUseAutoPriceForHedge, isOmsContainer, discretionaryUpToLimitPrice, usePriceMgmtAlgo
        "",
        "",
        0,  # duration, postToAts, autoCancelParent
        "",
        "",
        "",
        "",
        "",  # minTradeQty, minCompeteSize, competeAgainstBestOffset, midOffsetAtWhole/Half
    ]


# --- bars → 5-second sub-bars ------------------------------------------------------------------------


def split_into_5s(bar: Bar, tick: float | None = None) -> list[tuple[int, float, float, float, float, float]]:
    """Cut a bar into ``interval_s / 5`` five-second bars whose aggregate has exactly its OHLCV.

    The price path runs open → first extreme → second extreme → close (low first on an up bar); with
    ``tick`` the points in between are rounded to the price grid, as a venue's trades are.
    """
    n = max(1, bar.interval_s // 5)
    start = int(bar.ts.timestamp())
    if n == 1:
        return [(start, bar.open, bar.high, bar.low, bar.close, bar.volume)]
    first, second = (bar.low, bar.high) if bar.close >= bar.open else (bar.high, bar.low)
    anchors = [bar.open, first, second, bar.close]
    points: list[float] = []
    for i in range(n + 1):
        pos = i * 3 / n
        seg = min(int(pos), 2)
        frac = pos - seg
        point = anchors[seg] + (anchors[seg + 1] - anchors[seg]) * frac
        points.append(round(point / tick) * tick if tick else point)
    # make sure both extremes are hit exactly even when n is not a multiple of 3
    hi_idx = max(range(n + 1), key=lambda i: points[i]) if bar.high == max(anchors) else None
    lo_idx = min(range(n + 1), key=lambda i: points[i]) if bar.low == min(anchors) else None
    if hi_idx is not None:
        points[hi_idx] = bar.high
    if lo_idx is not None:
        points[lo_idx] = bar.low
    points[0], points[-1] = bar.open, bar.close
    volumes = _split_volume(bar.volume, n)
    out = []
    for i in range(n):
        o, c = points[i], points[i + 1]
        out.append((start + 5 * i, o, max(o, c), min(o, c), c, volumes[i]))
    return out


def _split_volume(volume: float, n: int) -> list[float]:
    if float(volume).is_integer():
        base, rest = divmod(int(volume), n)
        return [float(base + (1 if i < rest else 0)) for i in range(n)]
    part = volume / n
    parts = [part] * (n - 1)
    return [*parts, volume - sum(parts)]


# --- the venue controller the conformance kit drives ---------------------------------------------------


class FakeTwsController:
    """``tradebot.testing.controller.VenueController`` backed by a FakeTws."""

    def __init__(self, tws: FakeTws) -> None:
        self.tws = tws

    def _contract(self, symbol: str) -> FakeContract:
        return self.tws.front(symbol)

    async def push_bar(self, bar: Bar) -> None:
        contract = self._contract(bar.symbol)
        for epoch, o, h, low, c, v in split_into_5s(bar, contract.min_tick):
            await self.tws.push_5s_bar(contract.con_id, epoch, o, h, low, c, v)

    async def push_bars(self, bars: Iterable[Bar]) -> None:
        for bar in bars:
            await self.push_bar(bar)

    async def fill(
        self, client_order_id: str, price: Decimal | None = None, qty: Decimal | None = None
    ) -> None:
        order = self.tws.order_by_ref(client_order_id)
        if price is None:
            ref = order.lmt_price if order.order_type == "LMT" else order.aux_price
            last = self.tws.last_price.get(order.contract.con_id)
            chosen = ref if ref is not None else last
            if chosen is None:
                raise ValueError(f"no price to fill {client_order_id} at: set_last_price first")
            fill_at = chosen
        else:
            fill_at = float(price)
        await self.tws.execute(order, fill_at, qty if qty is not None else order.remaining)

    async def reject_next(self, reason: str) -> None:
        self.tws.reject_next(reason)

    async def fail_next(self, kind: str) -> None:
        self.tws.fail_next(kind)

    async def drop_connection(self) -> None:
        await self.tws.drop_all()

    async def venue_open_orders(self) -> list[OrderSnapshot]:
        out = []
        for o in sorted(self.tws.orders.values(), key=lambda x: x.order_id):
            if not o.is_working:
                continue
            parent = next(
                (
                    p
                    for p in self.tws.orders.values()
                    if o.parent_id and p.order_id == o.parent_id and p.client_id == o.client_id
                ),
                None,
            )
            out.append(
                OrderSnapshot(
                    client_order_id=o.order_ref,
                    venue_order_id=str(o.order_id),
                    symbol=o.contract.symbol,
                    side=Side.BUY if o.action == "BUY" else Side.SELL,
                    quantity=o.quantity,
                    filled_qty=o.filled,
                    order_type=_ORDER_TYPES.get(o.order_type, OrderType.LIMIT),
                    status=OrderStatus.PARTIALLY_FILLED if o.filled > 0 else OrderStatus.ACCEPTED,
                    limit_price=Decimal(repr(o.lmt_price)) if o.lmt_price is not None else None,
                    stop_price=Decimal(repr(o.aux_price))
                    if o.aux_price is not None and o.order_type != "LMT"
                    else None,
                    tif=TimeInForce(o.tif) if o.tif in TimeInForce.__members__ else TimeInForce.DAY,
                    parent_client_order_id=parent.order_ref if parent is not None else None,
                )
            )
        return out

    async def venue_positions(self) -> list[PositionSnapshot]:
        out = []
        for con_id, pos in self.tws.positions.items():
            c = self.tws.contract_by_id(con_id)
            if pos.quantity == 0 or c is None:
                continue
            avg = Decimal(repr(pos.avg_cost)) / Decimal(c.multiplier)
            out.append(PositionSnapshot(symbol=c.symbol, quantity=pos.quantity, avg_price=avg))
        return out

    async def set_last_price(self, symbol: str, price: Decimal) -> None:
        self.tws.last_price[self._contract(symbol).con_id] = float(price)


_ORDER_TYPES = {
    "MKT": OrderType.MARKET,
    "LMT": OrderType.LIMIT,
    "STP": OrderType.STOP,
    "STP LMT": OrderType.STOP_LIMIT,
    "TRAIL": OrderType.TRAILING_STOP,
}


# --- standalone: a fake gateway streaming a bar file, for observe/live runs of the daemon ---------------


def load_bar_file(path: str, symbol: str, limit: int | None = None, interval_s: int = 60) -> list[Bar]:
    """A bar CSV (``ts,open,high,low,close,volume``, ``ts`` = bar open, UTC) as Bars of ``symbol``."""
    import csv

    bars: list[Bar] = []
    with open(path, newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                ts = datetime.fromisoformat(row["ts"].replace("Z", "+00:00"))
                o, h, low, c, v = (float(row[k]) for k in ("open", "high", "low", "close", "volume"))
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path}:{line}: bad bar row ({exc})") from exc
            bars.append(Bar(symbol, ts, o, h, low, c, v, interval_s=interval_s))
            if limit is not None and len(bars) >= limit:
                break
    return bars


def shift_to_now(bars: list[Bar], now: datetime) -> list[Bar]:
    """The same bars moved in time so that the last one ends at ``now`` (floored to its interval)."""
    if not bars:
        return bars
    step = bars[-1].interval_s
    end = datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)
    offset = end - bars[-1].end
    return [
        Bar(b.symbol, b.ts + offset, b.open, b.high, b.low, b.close, b.volume, b.interval_s) for b in bars
    ]


async def serve_bars(
    port: int, path: str, symbol: str, delay_s: float, limit: int | None, to_now: bool = False
) -> None:
    """Listen on 127.0.0.1:``port``; once a client subscribes to real-time bars, stream the file."""
    tws = FakeTws(venue_time="bars")
    tws.server = await asyncio.start_server(tws._handle, "127.0.0.1", port)
    tws.port = tws.server.sockets[0].getsockname()[1]
    controller = FakeTwsController(tws)
    bars = load_bar_file(path, symbol, limit)
    if to_now:
        bars = shift_to_now(bars, datetime.now(UTC))
    print(
        f"fake TWS on 127.0.0.1:{tws.port}, {len(bars)} bars of {symbol} waiting for a subscriber", flush=True
    )
    while not any(s.rt_bars for s in tws.live_sessions()):
        await asyncio.sleep(0.05)
    for bar in bars:
        await controller.push_bar(bar)
        await asyncio.sleep(delay_s)
    print(
        f"streamed {len(bars)} bars; executions {len(tws.executions)}; positions "
        f"{[(c, str(p.quantity)) for c, p in tws.positions.items()]}",
        flush=True,
    )
    while tws.live_sessions():
        await asyncio.sleep(0.2)
    await tws.stop()


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="A fake TWS streaming a bar file as 5-second bars.")
    parser.add_argument("bars", help="bar CSV: ts,open,high,low,close,volume")
    parser.add_argument("--port", type=int, default=7497)
    parser.add_argument("--symbol", default="MES")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between bars")
    parser.add_argument("--limit", type=int, default=None, help="stream only the first N bars")
    parser.add_argument("--shift-to-now", action="store_true", help="move the bars so the last ends now")
    args = parser.parse_args(argv)
    asyncio.run(serve_bars(args.port, args.bars, args.symbol, args.delay, args.limit, args.shift_to_now))


if __name__ == "__main__":
    main()
