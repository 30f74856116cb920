"""External intents still waiting when a replay-clock run ends: reported, never silently dropped.

On the replay clock an external intent waits for the first bar that closes at or after its time. When
the run's bars end first (the data ends, ``--max-bars``, a stop), the intents still waiting were never
decided: each is recorded as ``intent_not_decided`` with the reason code INTENT_AFTER_END_OF_DATA, and
the run summary counts them. The record is not a refusal: a later run on the same store whose data
reaches the intent's time still decides it.
"""

from __future__ import annotations

from typing import Any

from tradebot.domain import reasons
from tradebot.pipeline.engine import DecisionEngine

NOT_DECIDED_KIND = "intent_not_decided"


def report_undecided_intents(engine: DecisionEngine) -> int:
    """Record every intent still waiting for its time; returns how many there were."""
    now = engine.clock.now()
    waiting = list(engine.pending_external)
    for intent in waiting:
        body: dict[str, Any] = {
            "code": reasons.INTENT_AFTER_END_OF_DATA,
            "intent_id": intent.intent_id,
            "ts": intent.ts.isoformat(),
            "last_bar_close": now.isoformat(),
            "message": f"its time {intent.ts.isoformat()} is after the last bar of the run "
            f"(closed {now.isoformat()}): it was not decided",
        }
        engine.recorder.record(NOT_DECIDED_KIND, body, ts=now, symbol=intent.symbol)
    return len(waiting)
