"""A small store built by hand: three days of ES (multiplier 50), one round trip a day, written through the
real event writer, plus a quotes file for the first day. Every figure the tests assert is worked out by hand
from these events in the test's comments.

Day 1 (2024-01-02): BUY 2 (decision 14:31, reference 100, bracket stop 98 / target 104), filled in two parts
  1 @ 100.25 (14:32:00.5, leaves 1) and 1 @ 100.50 (14:32:01), fee 1 each; the target fills 2 @ 104 (fee 2)
  at 14:34; the stop is canceled (one-cancels-other).
Day 2 (2024-01-03): SELL 1 (reference 105) filled 1 @ 104.75 at 14:31 (fee 1); one intent blocked by
  trades_per_day; a reduce-only BUY 1 (reference 106) filled 1 @ 106.25 at 14:32 (fee 1).
Day 3 (2024-01-04): BUY 1 (reference 106, stop 105 / target 108) filled 1 @ 106 at 14:31 (fee 1); another
  BUY is rejected; the stop fills 1 @ 104.75 at 14:32 (fee 1); the target is canceled.
Quotes (bars, known at open + 1 min), day 1 only: 14:30 bid 99.75 ask 100.25; 14:31 bid 100.00 ask 100.50;
  14:32 bid 99.25 ask 99.75; 14:33 bid 104.00 ask 104.50.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio

from tradebot.store import EventWriter

ES = {
    "symbol": "ES",
    "venue": "CME",
    "asset_class": "FUTURE",
    "currency": "USD",
    "tick_size": "0.25",
    "lot_step": "1",
    "min_qty": "1",
    "multiplier": "50",
    "calendar": "24/7",
}
Event = tuple[str, dict[str, Any], datetime, str | None, str | None]


def t(day: int, hhmm: str, seconds: float = 0) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(2024, 1, 1 + day, hour, minute, tzinfo=UTC) + timedelta(seconds=seconds)


def bar(day: int, hhmm: str, o: float, h: float, low: float, c: float) -> Event:
    opened = t(day, hhmm)
    body = {
        "symbol": "ES",
        "ts": opened.isoformat(),
        "interval_s": 60,
        "open": o,
        "high": h,
        "low": low,
        "close": c,
        "volume": 10.0,
    }
    return ("bar", body, opened + timedelta(minutes=1), "ES", None)


def decision(
    when: datetime,
    intent_id: str,
    side: str,
    qty: str,
    ref: str,
    *,
    cid: str | None,
    reduce_only: bool = False,
    blocked: tuple[str, str] | None = None,
    bracket: dict[str, str] | None = None,
) -> Event:
    intent = {
        "intent_id": intent_id,
        "symbol": "ES",
        "side": side,
        "quantity": qty,
        "reference_price": ref,
        "reduce_only": reduce_only,
        "source": "strategy",
        "order_type": "MARKET",
        "ts": when.isoformat(),
    }
    verdicts = [{"gate": "trading_state", "outcome": "PASS", "code": None, "details": {}}]
    if blocked is not None:
        verdicts.append({"gate": blocked[0], "outcome": "BLOCK", "code": blocked[1], "details": {}})
    body: dict[str, Any] = {
        "intent": intent,
        "approved": None if blocked else intent,
        "verdicts": verdicts,
        "outcome": "BLOCKED" if blocked else "APPROVED",
        "code": blocked[1] if blocked else "APPROVED",
        "order": {"client_order_id": cid, "bracket": bracket} if cid else None,
    }
    return ("decision", body, when, "ES", None)


def submit(
    when: datetime,
    cid: str,
    intent_id: str,
    side: str,
    qty: str,
    *,
    reduce_only: bool = False,
    bracket: dict[str, str] | None = None,
) -> Event:
    body = {
        "client_order_id": cid,
        "intent_id": intent_id,
        "symbol": "ES",
        "side": side,
        "quantity": qty,
        "order_type": "MARKET",
        "reduce_only": reduce_only,
        "bracket": bracket,
        "parent_client_order_id": None,
        "ts": when.isoformat(),
    }
    return ("order_submit", body, when, "ES", cid)


def fill(
    when: datetime, cid: str, n: int, side: str, qty: str, price: str, fee: str, leaves: str = "0"
) -> Event:
    body = {
        "client_order_id": cid,
        "fill_id": f"F{n}",
        "venue_order_id": f"V-{cid}",
        "symbol": "ES",
        "side": side,
        "quantity": qty,
        "price": price,
        "fee": fee,
        "fee_currency": "USD",
        "leaves_qty": leaves,
        "ts": when.isoformat(),
        "kind": "order_filled",
    }
    return ("order_filled", body, when, "ES", cid)


def other(kind: str, when: datetime, cid: str, **body: Any) -> Event:
    return (kind, {"client_order_id": cid, **body}, when, "ES", cid)


BRACKET_1 = {"stop_loss": "98", "take_profit": "104"}
BRACKET_5 = {"stop_loss": "105", "take_profit": "108"}

EVENTS: list[Event] = [
    (
        "run_start",
        {"mode": "replay", "starting_cash": "100000", "instruments": [ES]},
        t(1, "14:30"),
        None,
        None,
    ),
    # day 1
    bar(1, "14:30", 100, 100.5, 99.5, 100),
    decision(t(1, "14:31"), "i1", "BUY", "2", "100", cid="c1", bracket=BRACKET_1),
    submit(t(1, "14:31"), "c1", "i1", "BUY", "2", bracket=BRACKET_1),
    bar(1, "14:31", 100.25, 100.75, 100, 100.5),
    fill(t(1, "14:32", 0.5), "c1", 1, "BUY", "1", "100.25", "1", leaves="1"),
    fill(t(1, "14:32", 1), "c1", 2, "BUY", "1", "100.50", "1"),
    bar(1, "14:32", 100.5, 101, 99, 99.5),
    bar(1, "14:33", 99.5, 104.5, 99.5, 104.25),
    fill(t(1, "14:34"), "c1-tp", 3, "SELL", "2", "104", "2"),
    other("order_canceled", t(1, "14:34"), "c1-sl", reason="one-cancels-other"),
    bar(1, "14:34", 104, 104.5, 103.5, 104),
    # day 2
    bar(2, "14:30", 105, 105.5, 104.5, 105),
    decision(t(2, "14:31"), "i2", "SELL", "1", "105", cid="c2"),
    submit(t(2, "14:31"), "c2", "i2", "SELL", "1"),
    fill(t(2, "14:31"), "c2", 4, "SELL", "1", "104.75", "1"),
    decision(
        t(2, "14:31"), "i4", "BUY", "1", "105", cid=None, blocked=("trades_per_day", "MAX_TRADES_PER_DAY")
    ),
    bar(2, "14:31", 104.75, 106.5, 104.5, 106),
    decision(t(2, "14:32"), "i3", "BUY", "1", "106", cid="c3", reduce_only=True),
    submit(t(2, "14:32"), "c3", "i3", "BUY", "1", reduce_only=True),
    fill(t(2, "14:32"), "c3", 5, "BUY", "1", "106.25", "1"),
    bar(2, "14:32", 106.25, 106.5, 105.5, 106),
    # day 3
    bar(3, "14:30", 106, 106.5, 105.5, 106),
    decision(t(3, "14:31"), "i5", "BUY", "1", "106", cid="c5", bracket=BRACKET_5),
    submit(t(3, "14:31"), "c5", "i5", "BUY", "1", bracket=BRACKET_5),
    fill(t(3, "14:31"), "c5", 6, "BUY", "1", "106", "1"),
    decision(t(3, "14:31"), "i6", "BUY", "1", "106", cid="c6"),
    submit(t(3, "14:31"), "c6", "i6", "BUY", "1"),
    other("order_rejected", t(3, "14:31"), "c6", reason="insufficient margin"),
    bar(3, "14:31", 106, 106, 104.5, 104.75),
    fill(t(3, "14:32"), "c5-sl", 7, "SELL", "1", "104.75", "1"),
    other("order_canceled", t(3, "14:32"), "c5-tp", reason="one-cancels-other"),
    bar(3, "14:32", 104.75, 105, 104.5, 104.75),
]

QUOTES = """ts,bid_open,bid_high,bid_low,bid_close,bid_size,ask_open,ask_high,ask_low,ask_close,ask_size
2024-01-02T14:30:00Z,99.75,99.75,99.75,99.75,5,100.25,100.25,100.25,100.25,5
2024-01-02T14:31:00Z,100.00,100.00,100.00,100.00,5,100.50,100.50,100.50,100.50,5
2024-01-02T14:32:00Z,99.25,99.25,99.25,99.25,5,99.75,99.75,99.75,99.75,5
2024-01-02T14:33:00Z,104.00,104.00,104.00,104.00,5,104.50,104.50,104.50,104.50,5
"""


def write_store(path: Path, events: list[Event]) -> Path:
    async def write() -> None:
        async with EventWriter.open(path, run_id="hand") as writer:
            for kind, body, ts, symbol, cid in events:
                writer.append(kind, body, ts=ts, symbol=symbol, client_order_id=cid)

    anyio.run(write)
    return path
