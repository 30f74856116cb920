"""IntentHistory: an external intent is received once and decided once across restarts; stale ones refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tradebot.domain import reasons
from tradebot.domain.orders import IntentSource, OrderIntent, Side
from tradebot.intents import IntentRefusal, ParsedIntent
from tradebot.intents.history import IntentHistory, Triage, stale_verdict
from tradebot.risk.verdict import Outcome

NOW = datetime(2013, 10, 7, 14, 0, tzinfo=UTC)


def _parsed(intent_id: str, line: int, ts: datetime = NOW) -> ParsedIntent:
    intent = OrderIntent(
        intent_id=intent_id,
        symbol="MES",
        side=Side.BUY,
        quantity=Decimal(1),
        ts=ts,
        reference_price=Decimal("1680.00"),
        source=IntentSource.EXTERNAL,
    )
    return ParsedIntent(intent, {}, line)


def test_a_new_intent_is_recorded_a_reread_one_replayed_until_decided_then_skipped() -> None:
    history = IntentHistory()
    assert history.triage(_parsed("a", 1)) is Triage.RECORD
    history.on_received("a", 1)
    assert history.triage(_parsed("a", 1)) is Triage.REPLAY  # received, not decided yet: decide it
    history.on_decided("a")
    assert history.triage(_parsed("a", 1)) is Triage.SKIP


def test_a_new_message_reusing_a_received_id_is_refused_once() -> None:
    history = IntentHistory()
    history.on_received("a", 1)
    assert history.triage(_parsed("a", 7)) is Triage.REFUSE
    refusal = history.duplicate_refusal(_parsed("a", 7))
    assert (refusal.line, refusal.field, refusal.code) == (7, "intent_id", reasons.INTENT_INVALID)
    assert "line 1" in refusal.message
    history.on_refused(refusal.line, refusal.raw)
    assert history.triage(_parsed("a", 7)) is Triage.SKIP  # the same line read again after a restart


def test_a_refused_line_read_again_is_skipped_but_another_text_on_it_is_recorded() -> None:
    history = IntentHistory()
    history.on_refused(3, "{bad")
    assert history.triage(IntentRefusal(3, "<json>", "not valid JSON", "{bad")) is Triage.SKIP
    assert history.triage(IntentRefusal(3, "<json>", "not valid JSON", "{worse")) is Triage.RECORD


def test_stale_past_the_horizon_fresh_up_to_it() -> None:
    horizon = timedelta(minutes=2)
    assert stale_verdict(_parsed("a", 1, NOW - horizon).intent, NOW, horizon) is None
    verdict = stale_verdict(_parsed("a", 1, NOW - horizon - timedelta(seconds=1)).intent, NOW, horizon)
    assert verdict is not None and verdict.outcome is Outcome.BLOCK
    assert verdict.code == reasons.INTENT_STALE
    assert verdict.details["age_s"] == 121.0 and verdict.details["max_age_s"] == 120.0
