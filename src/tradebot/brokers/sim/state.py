"""Durable venue state: the simulated venue's orders, fills, positions and counters in one SQLite file.

Every venue mutation is written in one transaction (WAL, synchronous=NORMAL: durable across a killed
process, not across power loss) before the venue publishes its events, so a trading
process killed with SIGKILL and restarted on the same file finds the venue as a real venue would be:
knowing every order it accepted and every fill it made.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import orjson

from tradebot.brokers.sim.book import SimOrder, SimPosition, fill_from_json, fill_to_json
from tradebot.domain.events import OrderFilled

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS fills (seq INTEGER PRIMARY KEY, fill_id TEXT NOT NULL UNIQUE, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    symbol TEXT PRIMARY KEY, quantity TEXT NOT NULL, avg_price TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


# (INSERT head, values row, conflict clause): ``_rows`` repeats the row once per record
_ORDERS_UPSERT = (
    "INSERT INTO orders (client_order_id, seq, body) VALUES ", "(?, ?, ?)",
    " ON CONFLICT(client_order_id) DO UPDATE SET body = excluded.body",
)
_FILLS_INSERT = ("INSERT INTO fills (fill_id, body) VALUES ", "(?, ?)", "")
_POSITIONS_UPSERT = (
    "INSERT INTO positions (symbol, quantity, avg_price) VALUES ", "(?, ?, ?)",
    " ON CONFLICT(symbol) DO UPDATE SET quantity = excluded.quantity, avg_price = excluded.avg_price",
)
_META_UPSERT = (
    "INSERT INTO meta (key, value) VALUES ", "(?, ?)",
    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
)
_MAX_ROWS = 200  # rows per statement (well under SQLite's bound-parameter limit)


def _rows(
    statement: tuple[str, str, str], records: list[tuple[str | int | bytes, ...]]
) -> list[tuple[str, list[str | int | bytes]]]:
    """Multi-row statements (SQL, flat parameters) writing ``records``, at most ``_MAX_ROWS`` each. SQLite
    applies the rows in order, so the result is that of one statement per record."""
    out: list[tuple[str, list[str | int | bytes]]] = []
    for start in range(0, len(records), _MAX_ROWS):
        chunk = records[start:start + _MAX_ROWS]
        out.append((_sql(statement, len(chunk)), [value for record in chunk for value in record]))
    return out


@functools.cache
def _sql(statement: tuple[str, str, str], rows: int) -> str:
    head, row, tail = statement
    return head + ", ".join([row] * rows) + tail


@dataclass(slots=True)
class VenueState:
    orders: dict[str, SimOrder] = field(default_factory=dict)
    fills: list[OrderFilled] = field(default_factory=list)
    positions: dict[str, SimPosition] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)


class VenueStateFile:
    """Write-through persistence of a ``VenueState``; one writer (the venue)."""

    def __init__(self, path: Path) -> None:
        from tradebot.store.permissions import create_owner_only, owner_only_dir, owner_only_sqlite

        owner_only_dir(path.parent)
        create_owner_only(path)  # 0600 before SQLite opens it: its -wal and -shm files take the same mode
        owner_only_sqlite(path)
        self.path = path
        self._conn = sqlite3.connect(str(path), isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)

    def load(self) -> VenueState:
        state = VenueState()
        for (body,) in self._conn.execute("SELECT body FROM orders ORDER BY seq"):
            order = SimOrder.from_json(orjson.loads(body))
            state.orders[order.client_order_id] = order
        for (body,) in self._conn.execute("SELECT body FROM fills ORDER BY seq"):
            state.fills.append(fill_from_json(orjson.loads(body)))
        for symbol, qty, avg in self._conn.execute("SELECT symbol, quantity, avg_price FROM positions"):
            state.positions[symbol] = SimPosition(Decimal(qty), Decimal(avg))
        state.meta = dict(self._conn.execute("SELECT key, value FROM meta"))
        return state

    def write(
        self,
        *,
        orders: Sequence[SimOrder] = (),
        fills: Sequence[OrderFilled] = (),
        positions: dict[str, SimPosition] | None = None,
        meta: dict[str, str] | None = None,
        order_seq: dict[str, int] | None = None,
    ) -> None:
        """Write the changed records in one transaction, one multi-row statement per table (every
        statement lets another thread take the GIL, so a typical venue call makes three or four)."""
        seqs = order_seq or {}
        statements = [
            *_rows(_ORDERS_UPSERT, [(o.client_order_id, seqs.get(o.client_order_id, 0), o.to_json_bytes())
                                    for o in orders]),
            *_rows(_FILLS_INSERT, [(f.fill_id, orjson.dumps(fill_to_json(f))) for f in fills]),
            *_rows(_POSITIONS_UPSERT, [(symbol, str(p.quantity), str(p.avg_price))
                                       for symbol, p in (positions or {}).items()]),
            *_rows(_META_UPSERT, list((meta or {}).items())),
        ]
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                conn.execute(sql, params)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()
