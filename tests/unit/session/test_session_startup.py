"""Which venue orders are ours, and the JSON shape of the startup report (the venue runs are in
tests/integration/test_session_startup_leftovers.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tradebot.brokers.sim import create_broker
from tradebot.domain.clock import ReplayClock
from tradebot.domain.events import OrderSnapshot, OrderStatus
from tradebot.domain.orders import OrderType, Side
from tradebot.session import startup_cleanup
from tradebot.session.startup import is_known

T0 = datetime(2013, 10, 7, 13, 0, tzinfo=UTC)


def snapshot(cid: str, parent: str | None = None) -> OrderSnapshot:
    return OrderSnapshot(cid, "V1", "MES", Side.SELL, Decimal(1), Decimal(0), OrderType.STOP,
                         OrderStatus.ACCEPTED, parent_client_order_id=parent)


@pytest.mark.parametrize(
    ("cid", "parent", "known"),
    [
        ("tb-MES-1", None, True),
        ("tb-MES-1-sl", None, True),  # a bracket leg of a known order, by its id
        ("tb-MES-1-tp", None, True),
        ("tb-MES-1-xx", None, False),  # not a bracket leg
        ("other-sl", "tb-MES-1", True),  # by the venue's parent id
        ("tb-MES-2", None, False),
        ("tb-MES-2-sl", None, False),
    ],
)
def test_is_known(cid: str, parent: str | None, known: bool) -> None:
    assert is_known(snapshot(cid, parent), {"tb-MES-1"}) is known


async def test_a_clean_venue_gives_a_clean_report_that_is_json() -> None:
    broker = create_broker({}, ReplayClock(T0))
    await broker.connect()
    report = await startup_cleanup(broker, set(), {}, "refuse", now=T0)
    assert report.clean and report.ok
    body = json.loads(json.dumps(report.as_dict()))
    assert body == {"code": "STARTUP_CLEANUP", "policy": "refuse", "at": T0.isoformat(), "clean": True,
                    "ok": True, "unknown_orders": [], "position_gaps": [], "canceled": [],
                    "adopted_orders": [], "adopted_positions": [], "refused": []}
