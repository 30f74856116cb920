"""Property test: the portfolio's total of open positions (``max_positions_total``) binds across
instruments whatever the order of entries, fills and cancels, counting an entry still working at the venue
(it fills without asking the gates again)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from risk_testkit import INSTRUMENTS, NOW, intent, with_rules

from tradebot.domain.calendars import shared_calendars
from tradebot.domain.events import OrderCanceled, OrderFilled
from tradebot.domain.orders import OrderRequest, OrderType, Side
from tradebot.domain.state import Mode, TradingState
from tradebot.risk.entry_max_positions import EntryMaxPositionsGate
from tradebot.risk.tracker import RiskTracker
from tradebot.risk.verdict import Outcome

SYMBOLS = ("MES", "SPY")
step = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["entry", "entry", "fill", "cancel", "exit"]),
        "symbol": st.sampled_from(SYMBOLS),
        "pick": st.integers(0, 100),
    }
)


def _gate(maximum: int) -> EntryMaxPositionsGate:
    rules = with_rules("MES", entry_policy={"max_positions_total": maximum})
    rules = rules.model_copy(update={"instruments": {**rules.instruments, "SPY": rules.rules_for("MES")}})
    return EntryMaxPositionsGate(rules)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 2), st.lists(step, min_size=1, max_size=40))
def test_held_and_entering_instruments_never_exceed_the_total(
    maximum: int, steps: list[dict[str, Any]]
) -> None:
    gate = _gate(maximum)
    tracker = RiskTracker(INSTRUMENTS, shared_calendars())
    working: dict[str, OrderRequest] = {}
    now = NOW
    for n, s in enumerate(steps):
        now += timedelta(minutes=1)
        symbol = s["symbol"]
        price = Decimal(4500) if symbol == "MES" else Decimal(500)
        if s["action"] == "entry":
            candidate = intent(
                intent_id=f"{symbol}-{n}", symbol=symbol, ts=now, bar_ts=now, reference_price=price
            )
            ctx = tracker.snapshot(
                candidate, now, Decimal(10000), price, Mode.REPLAY, TradingState.ACTIVE, 1.0, 1.0
            )
            if gate.check(candidate, ctx).outcome is Outcome.BLOCK:
                assert ctx.open_positions >= maximum
                continue
            request = OrderRequest(
                f"c{n}", candidate.intent_id, symbol, Side.BUY, Decimal(1), OrderType.MARKET, now
            )
            tracker.on_order_submitted(request, now, candidate)
            working[request.client_order_id] = request
        elif s["action"] == "exit" and tracker.position(symbol) != 0:
            qty = tracker.position(symbol)
            fill = OrderFilled(
                f"x{n}", "v", f"fx{n}", symbol, Side.SELL, qty, price, Decimal(0), "USD", now, Decimal(0)
            )
            tracker.on_order_event(fill, now)
        elif s["action"] in ("fill", "cancel") and working:
            cid = sorted(working)[s["pick"] % len(working)]
            request = working.pop(cid)
            if s["action"] == "cancel":
                tracker.on_order_event(OrderCanceled(cid, now), now)
            else:
                fill = OrderFilled(
                    cid,
                    "v",
                    f"f{cid}",
                    request.symbol,
                    request.side,
                    request.quantity,
                    price,
                    Decimal(0),
                    "USD",
                    now,
                    Decimal(0),
                )
                tracker.on_order_event(fill, now)
        opening = {s for s in SYMBOLS if tracker.position(s) != 0 or tracker.working_entry_qty(s) != 0}
        assert len(opening) <= maximum, f"{sorted(opening)} open or opening with a total of {maximum}"
