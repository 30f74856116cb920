"""Property tests: random intents, fills, cancels, prices and clock times through RiskTracker, the
trading state machine, the session flattener and the full default chain under the real constitution."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from risk_testkit import BTC, INSTRUMENTS, MES, constitution

from tradebot.domain.calendars import shared_calendars
from tradebot.domain.events import OrderCanceled, OrderFilled
from tradebot.domain.orders import ExitPlan, IntentSource, OrderIntent, OrderRequest, OrderType, Side
from tradebot.domain.state import Mode, TradingState
from tradebot.risk.build import DEFAULT_CHAIN, build_chain
from tradebot.risk.decision_record import decision_record
from tradebot.risk.flatten import SessionFlattener
from tradebot.risk.measures import notional, trade_risk
from tradebot.risk.tracker import RiskTracker
from tradebot.risk.trading_state import TradingStateMachine

CONSTITUTION = constitution()
CHAIN = build_chain(DEFAULT_CHAIN, CONSTITUTION)
GATES = {g.name: g for g in CHAIN.gates}
CALENDARS = shared_calendars()
START = datetime(2024, 3, 4, 14, 40, tzinfo=UTC)  # Monday 09:40 EST; runs cross the 2024-03-10 DST switch
# start on a weekday of 2024-03-04..15 between 14:40 and 19:40 UTC (inside RTH in both EST and EDT)
start = st.tuples(st.sampled_from([0, 1, 2, 3, 4, 7, 8, 9, 10, 11]), st.integers(0, 300)).map(
    lambda dm: dm[0] * 24 * 60 + dm[1]
)

step = st.fixed_dictionaries(
    {
        "advance_s": st.sampled_from([0, 30, 60, 60, 120, 300, 310, 600, 1800, 3600, 20 * 3600]),
        "move_ticks": st.integers(-40, 40),
        "action": st.sampled_from(["entry", "entry", "entry", "exit", "fill", "fill", "cancel", "operator"]),
        "symbol": st.sampled_from(["MES", "MES", "BTCUSDT"]),
        "side": st.sampled_from([Side.BUY, Side.SELL]),
        "qty": st.sampled_from(["1", "1", "1", "2", "0.5", "3"]),
        "stop_ticks": st.integers(0, 14),
        "confidence": st.floats(0.6, 1.0),
        "leverage": st.sampled_from([None, "2", "10", "100"]),
        "dvs": st.sampled_from([1.0, 1.0, 0.9, 0.79]),
        "pick": st.integers(0, 1000),
    }
)


@dataclass
class Outcome:
    records: list[str]
    violations: list[str]


def _run(start_offset_min: int, steps: list[dict[str, Any]]) -> Outcome:
    tracker = RiskTracker(INSTRUMENTS, CALENDARS)
    machine = TradingStateMachine()
    flattener = SessionFlattener(CONSTITUTION, CALENDARS, tracker)
    prices = {"MES": Decimal(4500), "BTCUSDT": Decimal(60000)}
    now = START + timedelta(minutes=start_offset_min)
    working: dict[str, OrderRequest] = {}
    positions = {"MES": Decimal(0), "BTCUSDT": Decimal(0)}
    filled_entries_per_day: dict[tuple[str, str], set[str]] = {}
    records: list[str] = []
    violations: list[str] = []
    seq = 0

    def decide(intent: OrderIntent, dvs: float) -> None:
        nonlocal seq
        instrument = INSTRUMENTS[intent.symbol]
        limits = CONSTITUTION.rules_for(intent.symbol)
        ctx = tracker.snapshot(
            intent,
            now,
            Decimal(10000),
            prices[intent.symbol],
            Mode.REPLAY,
            machine.state,
            dvs,
            1.0,
            trading_state_reason=machine.reason,
        )
        decision = CHAIN.evaluate(intent, ctx)
        records.append(json.dumps(decision_record(decision), sort_keys=True))
        blocked = decision.blocked_by
        if intent.reduce_only and blocked is not None and not GATES[blocked.gate].applies_to_exits:
            violations.append(f"exit blocked by entry rule {blocked.gate}")
        approved = decision.approved
        if approved is None:
            return
        pos, pending = ctx.position_qty, ctx.pending_qty
        lim = limits.limits
        if approved.reduce_only:
            if approved.quantity > abs(pos) - abs(ctx.pending_exit_qty) or pos == 0:
                violations.append(f"reduce-only {approved.quantity} exceeds position {pos}")
        else:
            if machine.state is not TradingState.ACTIVE:
                violations.append(f"entry approved while {machine.state}")
            if (
                lim.position_limit is not None
                and abs(pos + pending + approved.quantity * approved.side.sign) > lim.position_limit
            ):
                violations.append("position limit")
            if lim.max_trades_per_day is not None and ctx.trades_today >= lim.max_trades_per_day:
                violations.append("trades per day")
            if lim.daily_loss_cap_usd is not None and ctx.pnl_today <= -lim.daily_loss_cap_usd:
                violations.append("daily loss cap")
            risk = trade_risk(approved, instrument)
            if lim.per_trade_risk_usd is not None and (risk is None or risk > lim.per_trade_risk_usd):
                violations.append(f"per-trade risk {risk}")
            if dvs < lim.dvs_min:
                violations.append("dvs")
        pre = limits.pretrade
        if pre.max_order_usd is not None and notional(approved, instrument) > pre.max_order_usd:
            violations.append("order dollars")
        if pre.max_order_qty is not None and approved.quantity > pre.max_order_qty:
            violations.append("order qty")
        if not instrument.is_valid_qty(approved.quantity):
            violations.append("qty off the lot grid")
        seq += 1
        request = OrderRequest(
            f"c{seq}",
            approved.intent_id,
            approved.symbol,
            approved.side,
            approved.quantity,
            approved.order_type,
            now,
            reduce_only=approved.reduce_only,
            leverage=approved.leverage,
        )
        tracker.on_order_submitted(request, now, approved)
        working[request.client_order_id] = request

    for i, s in enumerate(steps):
        now += timedelta(seconds=s["advance_s"])
        symbol = s["symbol"]
        instrument = INSTRUMENTS[symbol]
        for sym, inst in INSTRUMENTS.items():
            if sym in prices:
                prices[sym] = max(prices[sym] + inst.tick_size * s["move_ticks"], inst.tick_size * 100)
        for sym in ("MES", "BTCUSDT"):
            machine.on_status(now, tracker.daily_status(sym, now), CONSTITUTION.rules_for(sym).limits)
        for flat in flattener(now, MES, tracker.position("MES"), prices["MES"]):
            decide(flat, 1.0)
        action = s["action"]
        if action == "entry":
            qty = Decimal(s["qty"]) if symbol == "MES" else Decimal(s["qty"]) / 10
            price = prices[symbol]
            stop = price - s["side"].sign * instrument.tick_size * s["stop_ticks"] * (
                1 if symbol == "MES" else 100
            )
            intent = OrderIntent(
                intent_id=f"{symbol}-{i}",
                symbol=symbol,
                side=s["side"],
                quantity=qty,
                ts=now,
                reference_price=price,
                confidence=s["confidence"],
                regime="trend",
                exit_plan=ExitPlan(stop_loss=stop) if s["stop_ticks"] else None,
                leverage=Decimal(s["leverage"]) if s["leverage"] else None,
                bar_ts=now,
            )
            decide(intent, s["dvs"])
        elif action == "exit":
            pos = tracker.position(symbol)
            side = Side.SELL if pos > 0 else Side.BUY
            qty = abs(pos) if pos != 0 else instrument.min_qty
            source = IntentSource.OPERATOR if s["pick"] % 2 else IntentSource.STRATEGY
            intent = OrderIntent(
                f"{symbol}-x{i}",
                symbol,
                side,
                qty,
                now,
                prices[symbol],
                OrderType.MARKET,
                reduce_only=True,
                source=source,
                bar_ts=now,
            )
            decide(intent, s["dvs"])
        elif action in ("fill", "cancel") and working:
            cid = sorted(working)[s["pick"] % len(working)]
            request = working.pop(cid)
            if action == "cancel":
                tracker.on_cancel_request(cid, now)
                tracker.on_order_event(OrderCanceled(cid, now), now)
            else:
                fill = OrderFilled(
                    cid,
                    "v",
                    f"f{cid}",
                    request.symbol,
                    request.side,
                    request.quantity,
                    prices[request.symbol],
                    Decimal("0.62"),
                    "USD",
                    now,
                    Decimal(0),
                )
                tracker.on_order_event(fill, now)
                positions[request.symbol] += request.quantity * request.side.sign
                if not request.reduce_only:
                    day = CALENDARS.session_day(INSTRUMENTS[request.symbol].calendar, now).isoformat()
                    filled_entries_per_day.setdefault((request.symbol, day), set()).add(cid)
        elif action == "operator":
            if s["pick"] % 3 == 0:
                machine.operator_halt(now)
            else:
                machine.operator_resume(now)
        if abs(positions["MES"]) > 1:
            violations.append(f"MES position {positions['MES']}")
        if positions[symbol] != tracker.position(symbol):
            violations.append("tracker position drift")
    for (sym, _day), cids in filled_entries_per_day.items():
        maximum = CONSTITUTION.rules_for(sym).limits.max_trades_per_day
        if maximum is not None and len(cids) > maximum:
            violations.append(f"{sym} {len(cids)} filled entries in a day")
    return Outcome(records, violations)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start, st.lists(step, min_size=1, max_size=40))
def test_no_approved_order_breaches_a_limit_and_exits_pass_entry_rules(
    offset: int, steps: list[dict[str, Any]]
) -> None:
    outcome = _run(offset, steps)
    assert outcome.violations == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start, st.lists(step, min_size=1, max_size=30))
def test_same_inputs_give_the_same_verdicts(offset: int, steps: list[dict[str, Any]]) -> None:
    assert _run(offset, steps).records == _run(offset, steps).records


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(["MES", "BTCUSDT"]),
    st.sampled_from(list(TradingState)),
    st.sampled_from(list(IntentSource)),
    st.integers(1, 3),
)
def test_reduce_only_exits_are_never_blocked_by_entry_rules(
    symbol: str, state: TradingState, source: IntentSource, qty: int
) -> None:
    tracker = RiskTracker(INSTRUMENTS, CALENDARS)
    instrument = MES if symbol == "MES" else BTC
    now = START
    fill = OrderFilled(
        "e", "v", "fe", symbol, Side.BUY, Decimal(qty), Decimal(100), Decimal(0), "USD", now, Decimal(0)
    )
    tracker.on_fill(fill, instrument)
    exit_ = OrderIntent(
        f"{symbol}-x",
        symbol,
        Side.SELL,
        Decimal(qty),
        now,
        Decimal(100),
        reduce_only=True,
        source=source,
        confidence=0.0,
    )
    ctx = tracker.snapshot(
        exit_, now, Decimal(0), Decimal(100), Mode.LIVE, state, 0.0, 0.0
    )  # all entry rules fail
    decision = CHAIN.evaluate(exit_, ctx)
    blocked = decision.blocked_by
    assert blocked is None or GATES[blocked.gate].applies_to_exits
    evaluated = {v.gate for v in decision.verdicts}
    assert all(GATES[name].applies_to_exits for name in evaluated)
