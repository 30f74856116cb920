"""What the simulated venue writes to its state file, and when: only changes, one transaction per call,
and a file that always reloads into the venue it came from."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from tradebot.brokers.sim import SimConfig, SimVenue
from tradebot.brokers.sim.book import SimOrder
from tradebot.brokers.sim.meta import MetaRows, meta_text
from tradebot.domain.bars import Bar
from tradebot.domain.clock import ReplayClock
from tradebot.domain.events import BrokerEvent, OrderCanceled, OrderFilled, OrderStatus
from tradebot.domain.orders import Bracket, OrderRequest, OrderType, Side, TimeInForce

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
D = Decimal
INSTRUMENTS = {"MES": {"tick_size": "0.25", "multiplier": "5"},
               "MNQ": {"tick_size": "0.25", "multiplier": "2"}}


def venue_at(path: Path) -> SimVenue:
    config = SimConfig.from_mapping({"state_path": str(path), "fee_bps": 0.5, "instruments": INSTRUMENTS})
    return SimVenue(config, ReplayClock(T0))


def bar(symbol: str, i: int, o: float, h: float, lo: float, c: float) -> Bar:
    return Bar(symbol, T0 + timedelta(minutes=i), o, h, lo, c, 10.0)


def request(cid: str, symbol: str = "MES", side: Side = Side.BUY, kind: OrderType = OrderType.MARKET,
            **kw: Any) -> OrderRequest:
    return OrderRequest(cid, cid, symbol, side, D(1), kind, T0, **kw)


class Transactions:
    """Counts the venue's state-file transactions through SQLite's own statement trace."""

    def __init__(self, venue: SimVenue) -> None:
        self.begun = 0
        assert venue._file is not None
        venue._file._conn.set_trace_callback(self._trace)

    def _trace(self, sql: str) -> None:
        if sql.startswith("BEGIN"):
            self.begun += 1

    def during(self, action: Any) -> int:
        before = self.begun
        action()
        return self.begun - before


@pytest.mark.parametrize("order", [
    SimOrder("c1", "SIM-1", "MES", Side.BUY, D("1"), OrderType.LIMIT, T0, limit_price=D("1800.25")),
    SimOrder("c1-sl", "SIM-2", "MES", Side.SELL, D("0.0010"), OrderType.STOP,
             datetime(2024, 1, 1, 0, 0, 0, 500, tzinfo=UTC), tif=TimeInForce.IOC, stop_price=D("1E+3"),
             reduce_only=True, parent_client_order_id="c1", oco_group="c1",
             status=OrderStatus.PARTIALLY_FILLED, filled_qty=D("0.00"), active=False,
             not_before=datetime(2024, 1, 1, 0, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
             bars_waited=3, triggered=True),
    SimOrder('é"\\x', "SIM-3", "X", Side.SELL, D("-0"), OrderType.MARKET, datetime(2024, 1, 1)),
])
def test_an_order_record_is_byte_for_byte_its_json_form(order: SimOrder) -> None:
    assert order.to_json_bytes() == orjson.dumps(order.to_json())
    assert SimOrder.from_json(orjson.loads(order.to_json_bytes())) == order


def test_meta_rows_change_only_when_their_text_changes_and_only_once_written() -> None:
    rows = MetaRows({"fees": "0", "next_order_no": "1"})
    fees, ts = D("0.00"), datetime(2024, 1, 1, tzinfo=UTC)
    changed, sources = rows.changes([("fees", fees), ("next_order_no", 1), ("mark:MES", 1800.5)])
    assert changed == {"fees": "0.00", "mark:MES": "1800.5"}  # same value, new text: written
    assert rows.changes([("fees", fees)])[0] == {"fees": "0.00"}  # not written yet: still a change
    rows.written(changed, sources)
    assert rows.changes([("fees", fees), ("next_order_no", 1), ("mark:MES", D("1800.5"))])[0] == {}
    assert rows.changes([("bar_ts:MES", ts)])[0] == {"bar_ts:MES": ts.isoformat()}
    assert meta_text(0.1) == "0.1" and meta_text(D("2.50")) == "2.50"


def test_idle_bars_write_nothing_and_every_call_is_one_transaction(tmp_path: Path) -> None:
    venue = venue_at(tmp_path / "venue.db")
    tx = Transactions(venue)
    assert tx.during(lambda: venue.on_bar(bar("MES", 0, 100, 101, 99, 100))) == 0  # nothing working
    bracket = Bracket(stop_loss=D("95"), take_profit=D("110"))
    assert tx.during(lambda: venue.submit(request("e", bracket=bracket))) == 1  # entry and both legs
    assert tx.during(lambda: venue.on_bar(bar("MES", 1, 100, 101, 99, 100))) == 1  # the entry fills
    assert tx.during(lambda: venue.on_bar(bar("MES", 2, 100, 101, 99, 100))) == 0  # legs rest, unchanged
    assert tx.during(lambda: venue.on_bar(bar("MNQ", 2, 100, 101, 99, 100))) == 0  # another symbol
    assert tx.during(lambda: venue.cancel("e-sl")) == 1
    assert tx.during(lambda: venue.cancel("e-sl")) == 0  # not open any more: no event, no write
    assert tx.during(lambda: venue.cancel_all()) == 1
    venue.close()


def test_a_call_changing_hundreds_of_orders_is_one_transaction_that_reloads(tmp_path: Path) -> None:
    venue = venue_at(tmp_path / "venue.db")
    for i in range(450):  # more rows than one statement carries
        venue.submit(request(f"r{i}", kind=OrderType.LIMIT, limit_price=D("50")))
    tx = Transactions(venue)
    assert tx.during(lambda: venue.cancel_all()) == 1
    venue.close()
    again = venue_at(tmp_path / "venue.db")
    assert again.snapshot_open_orders() == []
    assert {again.order(f"r{i}").status for i in range(450)} == {OrderStatus.CANCELED}  # type: ignore[union-attr]
    again.close()


def test_one_cancels_other_and_matching_stay_within_their_symbol(tmp_path: Path) -> None:
    venue = venue_at(tmp_path / "venue.db")
    events: list[BrokerEvent] = []
    session = venue.open_session(lambda: events.extend(session.pull()), lambda reason: None)
    for i in range(50):  # history that per-bar work must not depend on
        venue.submit(request(f"h{i}", kind=OrderType.LIMIT, limit_price=D("50")))
        venue.cancel(f"h{i}")
    for symbol in ("MES", "MNQ"):
        venue.on_bar(bar(symbol, 0, 100, 100, 100, 100))
        venue.submit(request(symbol, symbol, bracket=Bracket(stop_loss=D("95"), take_profit=D("110"))))
        venue.on_bar(bar(symbol, 1, 100, 100, 100, 100))
    venue.on_bar(bar("MES", 2, 100, 111, 99, 105))  # MES target fills; only MES's stop is canceled
    assert [f.client_order_id for f in events if isinstance(f, OrderFilled)] == ["MES", "MNQ", "MES-tp"]
    canceled = [e.client_order_id for e in events if isinstance(e, OrderCanceled)]
    assert canceled[-1] == "MES-sl" and "MNQ-sl" not in canceled
    assert sorted(o.client_order_id for o in venue.open_orders()) == ["MNQ-sl", "MNQ-tp"]
    venue.close()


def _file_rows(path: Path) -> tuple[dict[str, Any], list[Any], dict[str, Any], dict[str, str]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT client_order_id, body FROM orders")
        orders = {cid: orjson.loads(body) for cid, body in rows}
        fills = [orjson.loads(body) for (body,) in conn.execute("SELECT body FROM fills ORDER BY seq")]
        rows = conn.execute("SELECT symbol, quantity, avg_price FROM positions")
        positions = {s: (q, a) for s, q, a in rows}
        meta = dict(conn.execute("SELECT key, value FROM meta"))
    finally:
        conn.close()
    return orders, fills, positions, meta


def _random_call(venue: SimVenue, rng: random.Random, step: int) -> None:
    """A bar, a submit (plain or bracket, market or limit) or a cancel of a working order."""
    roll = rng.random()
    price = 100.0 + rng.choice([-6.0, -3.0, -0.5, 0.0, 0.5, 3.0, 6.0])
    if roll < 0.45:
        venue.on_bar(bar(rng.choice(["MES", "MNQ"]), step, price, price + 1.5, price - 1.5, price + 0.25))
    elif roll < 0.8:
        side = rng.choice([Side.BUY, Side.SELL])
        stop, target = (D(80), D(130)) if side is Side.BUY else (D(130), D(80))
        kind = rng.choice([OrderType.MARKET, OrderType.LIMIT])
        venue.submit(request(f"o{step}", rng.choice(["MES", "MNQ"]), side, kind,
                             limit_price=D(str(price)) if kind is OrderType.LIMIT else None,
                             bracket=Bracket(stop, target) if rng.random() < 0.5 else None))
    else:
        open_ids = [o.client_order_id for o in venue.open_orders()]
        venue.cancel(rng.choice(open_ids) if open_ids else "none")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_after_every_write_the_file_holds_exactly_the_venue(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "venue.db"
    venue = venue_at(path)
    tx = Transactions(venue)
    rng = random.Random(seed)
    for step in range(120):
        wrote = tx.during(lambda step=step: _random_call(venue, rng, step))
        assert wrote <= 1
        orders, fills, positions, meta = _file_rows(path)
        assert orders == {cid: o.to_json() for cid, o in venue._orders.items()}
        assert len(fills) == len(venue.fills_since(T0))
        assert positions == {s: (str(p.quantity), str(p.avg_price)) for s, p in venue._positions.items()}
        if wrote:
            assert meta == {key: meta_text(value) for key, value in venue._meta()}
        # per-bar work is O(working orders): the per-symbol index holds the open orders and nothing else
        indexed = [cid for working in venue._open_by_symbol.values() for cid in working]
        assert sorted(indexed) == sorted(o.client_order_id for o in venue.open_orders())
    assert venue.fills_since(T0), "the scenario should fill something"
    venue.close()
    again = venue_at(path)
    assert again.fills_since(T0) == venue.fills_since(T0)
    assert again.snapshot_open_orders() == venue.snapshot_open_orders()
    assert again.snapshot_positions() == venue.snapshot_positions()
    again.close()
