"""The tracker's caches give what a fresh computation gives: session days, window counts, sent sets."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from risk_testkit import INSTRUMENTS, NOW, intent

from tradebot.domain.calendars import shared_calendars
from tradebot.domain.orders import OrderRequest, OrderType, Side
from tradebot.domain.state import Mode, TradingState
from tradebot.risk.pretrade_throttle import count_within
from tradebot.risk.tracker import RiskTracker


def test_session_day_matches_the_calendar_across_sessions_and_holidays() -> None:
    tracker = RiskTracker(INSTRUMENTS)
    calendars = shared_calendars()
    start = datetime(2024, 3, 7, 0, 0, tzinfo=UTC)  # Thu .. next Wed: a weekend and the DST switch
    for minutes in range(0, 7 * 24 * 60, 17):
        now = start + timedelta(minutes=minutes)
        for symbol, instrument in INSTRUMENTS.items():
            expected = calendars.session_day(instrument.calendar, now)
            assert tracker.daily_status(symbol, now).session_day == expected, (symbol, now)


def _request(cid: str, ts: datetime) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        intent_id=f"MES-{cid}",
        symbol="MES",
        side=Side.BUY,
        quantity=Decimal(1),
        order_type=OrderType.MARKET,
        ts=ts,
    )


def _snap(tracker: RiskTracker, now: datetime):  # type: ignore[no-untyped-def]
    return tracker.snapshot(
        intent(), now, Decimal(10000), Decimal(4500), Mode.OBSERVE, TradingState.ACTIVE, 1.0, 1.0
    )


def test_snapshots_stay_frozen_and_follow_sends_prunes_and_clock_jumps() -> None:
    tracker = RiskTracker(INSTRUMENTS, history_s=300, dedupe_horizon_s=600)
    seen: list[tuple[object, ...]] = []
    offsets = [0, 10, 20, 5, 400, 410, 1200, 1210]  # out of order once, then past both horizons
    for i, offset in enumerate(offsets):
        now = NOW + timedelta(seconds=offset)
        before = _snap(tracker, now)
        frozen = (before.recent_orders, before.submitted_intent_ids, before.submitted_keys)
        tracker.on_order_submitted(_request(f"c{i}", now), now)
        assert (before.recent_orders, before.submitted_intent_ids, before.submitted_keys) == frozen
        after = _snap(tracker, now)
        sent = [NOW + timedelta(seconds=o) for o in offsets[: i + 1]]
        horizon = now - timedelta(seconds=300)
        assert list(after.recent_orders) == [t for t in sent if t > horizon]  # pruned from the front
        assert count_within(after.recent_orders, now) == sum(
            1 for t in sent if now - timedelta(seconds=60) < t <= now
        )
        assert after.submitted_client_ids >= {f"c{i}"}
        seen.append((len(after.recent_orders), len(after.submitted_intent_ids)))
    assert seen[-1] == (2, 2)
