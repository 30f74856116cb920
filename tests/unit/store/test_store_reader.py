"""Readers filter by kind, symbol, time and seq, and see exactly what the writer committed."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tradebot.store import EventWriter, StoreError, StoreReader, encode_body

T0 = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


async def write_sample(path: Path, run_id: str = "run-a") -> None:
    async with EventWriter.open(path, run_id=run_id) as w:
        for i in range(6):
            symbol = "MES" if i % 2 == 0 else "BTCUSDT"
            w.append("bar", {"i": i, "close": 1676.25 + i}, ts=T0 + i * MINUTE, symbol=symbol)
        w.append("signal", {"direction": 1}, ts=T0 + 5 * MINUTE, symbol="MES")
        await w.append_durable("order_intent", {"qty": Decimal("1")}, ts=T0 + 5 * MINUTE, symbol="MES",
                               client_order_id="tb-MES-1")
        w.append("order_filled", {"price": Decimal("1681.25")}, ts=T0 + 6 * MINUTE, symbol="MES",
                 client_order_id="tb-MES-1")


async def test_filters(store_path: Path) -> None:
    await write_sample(store_path)
    with StoreReader(store_path) as r:
        assert [e.seq for e in r.iter_events()] == list(range(1, 10))
        assert [e.body["i"] for e in r.iter_events(kinds=["bar"], symbol="MES")] == [0, 2, 4]
        in_range = list(r.iter_events(kinds=["bar"], start=T0 + MINUTE, end=T0 + 4 * MINUTE))
        assert [e.body["i"] for e in in_range] == [1, 2, 3]  # start inclusive, end exclusive
        assert [e.kind for e in r.iter_events(after_seq=7)] == ["order_intent", "order_filled"]
        assert [e.seq for e in r.iter_events(kinds=["signal", "order_filled"])] == [7, 9]
        assert list(r.iter_events(kinds=[])) == []
        fill = r.last_event("order_filled")
        assert fill is not None
        assert (fill.seq, fill.client_order_id, fill.symbol) == (9, "tb-MES-1", "MES")
        assert fill.ts == T0 + 6 * MINUTE and fill.body == {"price": "1681.25"}
        assert r.last_event("nothing") is None
        assert r.count_by_kind() == {"bar": 6, "order_filled": 1, "order_intent": 1, "signal": 1}
        assert r.max_seq() == 9
        assert r.integrity_check() == "ok"


async def test_wall_clock_metadata_lives_apart_from_bodies(store_path: Path, tmp_path: Path) -> None:
    await write_sample(store_path, run_id="run-a")
    other = tmp_path / "other.db"
    await write_sample(other, run_id="run-b")
    with StoreReader(store_path) as a, StoreReader(other) as b:
        batch = a.write_batch(9)
        assert batch is not None and batch.run_id == "run-a" and batch.first_seq <= 9 <= batch.last_seq
        assert b.write_batch(1) is not None and b.write_batch(1).run_id == "run-b"  # type: ignore[union-attr]
        assert a.write_batch(10) is None
        assert a.body_hashes() == b.body_hashes()
        assert a.events_digest() == b.events_digest()
        expected = hashlib.sha256(encode_body({"i": 0, "close": 1676.25})).hexdigest()
        assert a.body_hashes(kinds=["bar"])[0] == expected


async def test_digest_sees_a_one_byte_difference(store_path: Path, tmp_path: Path) -> None:
    await write_sample(store_path)
    other = tmp_path / "other.db"
    async with EventWriter.open(other) as w:
        for i in range(6):
            symbol = "MES" if i % 2 == 0 else "BTCUSDT"
            w.append("bar", {"i": i, "close": 1676.25 + i}, ts=T0 + i * MINUTE, symbol=symbol)
        w.append("signal", {"direction": -1}, ts=T0 + 5 * MINUTE, symbol="MES")
    with StoreReader(store_path) as a, StoreReader(other) as b:
        assert a.body_hashes()[:6] == b.body_hashes()[:6]
        assert a.body_hashes()[6] != b.body_hashes()[6]
        assert a.events_digest(kinds=["bar"]) == b.events_digest(kinds=["bar"])
        assert a.events_digest(kinds=["signal"]) != b.events_digest(kinds=["signal"])


async def test_store_is_append_only(store_path: Path) -> None:
    await write_sample(store_path)
    conn = sqlite3.connect(store_path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE events SET kind = 'x' WHERE seq = 1")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM events")
    finally:
        conn.close()


async def test_empty_store_and_bad_files(store_path: Path, tmp_path: Path) -> None:
    async with EventWriter.open(store_path):
        pass
    with StoreReader(store_path) as r:
        assert r.max_seq() == 0 and r.count_by_kind() == {} and list(r.iter_events()) == []
    with pytest.raises(FileNotFoundError, match="no event store"):
        StoreReader(tmp_path / "missing.db")
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(StoreError, match="not a tradebot event store"):
        StoreReader(foreign)
    with pytest.raises(StoreError, match="not a tradebot event store"):
        async with EventWriter.open(foreign):
            pass


async def test_first_last_by_symbol_and_counts_by_body_value(store_path: Path) -> None:
    await write_sample(store_path)
    async with EventWriter.open(store_path) as w:
        for code in ("NO_EDGE", None, "NO_EDGE", "BELOW_MIN_QTY"):
            w.append("sizing", {"code": code, "qty": "0"}, ts=T0, symbol="MES")
        w.append("sizing", {"qty": "1"}, ts=T0, symbol="MES")
    with StoreReader(store_path) as r:
        first = r.first_event("bar")
        assert first is not None and first.body["i"] == 0
        last = r.last_of_kind_by_symbol("bar")
        assert [(e.symbol, e.body["i"]) for e in last] == [("MES", 4), ("BTCUSDT", 5)]
        assert r.count_by_body_value("sizing", "code") == {"NO_EDGE": 2, "BELOW_MIN_QTY": 1}
        assert r.first_event("nothing") is None and r.last_of_kind_by_symbol("nothing") == []
        with pytest.raises(ValueError, match="body field"):
            r.count_by_body_value("sizing", "code') --")


async def test_nested_body_values_and_body_items_are_counted_in_sqlite(store_path: Path) -> None:
    bodies = [
        {"close": 1.0},
        {"close": 1.0, "signal": {"direction": 1}, "sizing": {"code": "NO_EDGE"}},
        {"close": 1.0, "signal": {"direction": 0}, "sizing": {"qty": "1"}},
        {"close": 1.0, "signals": [{"sleeve": "a"}, {"sleeve": "b"}], "sizing": {"code": "NO_EDGE"}},
        {"close": 1.0, "signal": None, "signals": []},
    ]
    async with EventWriter.open(store_path) as w:
        for body in bodies:
            w.append("bar", body, ts=T0, symbol="MES")
        w.append("other", {"signal": {"direction": 1}}, ts=T0)
    with StoreReader(store_path) as r:
        assert r.count_by_body_value("bar", "sizing.code") == {"NO_EDGE": 2}
        assert r.count_body_items("bar", "signal") == 2
        assert r.count_body_items("bar", "signals") == 2
        assert r.count_body_items("nothing", "signal") == 0
        with pytest.raises(ValueError, match="body field"):
            r.count_body_items("bar", "sizing.')")
