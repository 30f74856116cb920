"""The durable sim venue survives SIGKILL of its process: orders, fills and positions stay consistent."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tradebot.brokers.sim import SimConfig, SimVenue
from tradebot.domain.bars import Bar
from tradebot.domain.clock import ReplayClock
from tradebot.domain.orders import OrderRequest, OrderType, Side

T0 = datetime(2024, 1, 1, tzinfo=UTC)

DRIVER = """
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from tradebot.brokers.sim import SimConfig, SimVenue
from tradebot.domain.bars import Bar
from tradebot.domain.clock import ReplayClock
from tradebot.domain.orders import OrderRequest, OrderType, Side
T0 = datetime(2024, 1, 1, tzinfo=UTC)
venue = SimVenue(SimConfig.from_mapping({"state_path": sys.argv[1], "fee_bps": 1}), ReplayClock(T0))
for i in range(1_000_000):
    price = 100 + (i % 7) * 0.5
    venue.on_bar(Bar("XYZ", T0 + timedelta(minutes=i), price, price + 1, price - 1, price, 1.0))
    side = Side.BUY if i % 3 else Side.SELL
    venue.submit(OrderRequest(f"c{i}", f"c{i}", "XYZ", side, Decimal(1 + i % 2), OrderType.MARKET, T0))
    print(i, flush=True)
"""


def config(path: Path) -> SimConfig:
    return SimConfig.from_mapping({"state_path": str(path), "fee_bps": 1})


@pytest.mark.timeout(60)
def test_state_file_is_consistent_after_sigkill_and_trading_resumes(tmp_path: Path) -> None:
    state = tmp_path / "venue.db"
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(state)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    last = -1
    for line in proc.stdout:
        last = int(line)
        if last >= 300:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert last >= 300

    with sqlite3.connect(state) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    venue = SimVenue(config(state), ReplayClock(T0))
    fills = venue.fills_since(T0)
    assert len({f.fill_id for f in fills}) == len(fills) >= 300
    filled: dict[str, Decimal] = {}
    for f in fills:
        filled[f.client_order_id] = filled.get(f.client_order_id, Decimal(0)) + f.quantity
    for cid, qty in filled.items():
        snapshot = venue.order(cid)
        assert snapshot is not None and snapshot.filled_qty == qty
    net = sum((f.quantity * f.side.sign for f in fills), Decimal(0))
    assert sum((p.quantity for p in venue.positions()), Decimal(0)) == net
    # the order sent after the last bar the venue saw (if the kill came after it) is still working
    working = venue.open_orders()
    assert len(working) <= 1
    if working:
        cid = working[0].client_order_id
        n = int(cid[1:])  # c<n> was sent after bar n
        assert n >= last
        venue.submit(OrderRequest(cid, "x", "XYZ", Side.BUY, Decimal(5), OrderType.MARKET, T0))  # known id
        assert [o.quantity for o in venue.open_orders()] == [working[0].quantity]
    else:  # killed between a bar and the next submit: the last bar seen is the one of the last fill
        n = int((fills[-1].ts - T0).total_seconds() // 60)
        cid = "after-restart"
        venue.submit(OrderRequest(cid, cid, "XYZ", Side.BUY, Decimal(1), OrderType.MARKET, T0))
    venue.on_bar(Bar("XYZ", T0 + timedelta(minutes=n), 100, 101, 99, 100, 1.0))  # the decision bar again
    assert len(venue.fills_since(T0)) == len(fills)
    venue.on_bar(Bar("XYZ", T0 + timedelta(minutes=n + 1), 100, 101, 99, 100, 1.0))
    new = venue.fills_since(T0)[len(fills):]
    assert [f.client_order_id for f in new] == [cid]
    assert new[0].fill_id not in {f.fill_id for f in fills}
    venue.close()
