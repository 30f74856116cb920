"""External intents across restarts: each is received once, decided once, and never decided late.

``IntentHistory`` is what the event store says about the external intents of earlier runs on the same
store: which intent ids were received (and from which line), which were decided, which lines were refused.
A restarted run reads the same intent file again; ``IntentHistory.triage`` sorts each item it reads:

- ``RECORD``:  new — record it and decide it (at its time);
- ``REPLAY``:  the same line received before, not yet decided — decide it (at its time), not record it again;
- ``SKIP``:    the same line already decided, or the same refused line — nothing to do;
- ``REFUSE``:  a new message reusing an intent id received before from another line — refused as a
  duplicate, as the source refuses one within a run.

``stale_verdict`` is the staleness horizon: an intent older than ``max_age`` when it reaches the gates is
refused (INTENT_STALE), recorded as a decision, and never sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.intents.parse import ParsedIntent
from tradebot.intents.source import IntentRefusal
from tradebot.risk.verdict import Verdict

STALE_GATE = "intent_age"


class Triage(StrEnum):
    RECORD = "RECORD"
    REPLAY = "REPLAY"
    SKIP = "SKIP"
    REFUSE = "REFUSE"


@dataclass(slots=True)
class IntentHistory:
    received: dict[str, int | None] = field(default_factory=dict)  # intent id -> line it came from
    decided: set[str] = field(default_factory=set)  # intent ids with a decision record
    refused: dict[int, str] = field(default_factory=dict)  # refused line -> its raw text

    def on_received(self, intent_id: str, line: int | None) -> None:
        self.received.setdefault(intent_id, line)

    def on_decided(self, intent_id: str) -> None:
        self.decided.add(intent_id)

    def on_refused(self, line: int, raw: str) -> None:
        self.refused.setdefault(line, raw)

    def triage(self, item: ParsedIntent | IntentRefusal) -> Triage:
        if isinstance(item, IntentRefusal):
            return Triage.SKIP if self.refused.get(item.line) == item.raw else Triage.RECORD
        intent_id = item.intent.intent_id
        if intent_id not in self.received:
            return Triage.RECORD
        if self.received[intent_id] != item.line:
            refused = item.line is not None and self.refused.get(item.line) == _duplicate_raw(intent_id)
            return Triage.SKIP if refused else Triage.REFUSE
        return Triage.SKIP if intent_id in self.decided else Triage.REPLAY

    def duplicate_refusal(self, item: ParsedIntent) -> IntentRefusal:
        """The refusal of a new message that reuses an intent id received before (``Triage.REFUSE``)."""
        intent_id = item.intent.intent_id
        first = self.received.get(intent_id)
        return IntentRefusal(
            item.line or 0,
            "intent_id",
            f"duplicate of line {first} (received before a restart)",
            _duplicate_raw(intent_id),
        )


def _duplicate_raw(intent_id: str) -> str:
    """What a duplicate's refusal keeps of it: the id (the line itself is not kept after parsing)."""
    return f"intent_id={intent_id}"


def stale_verdict(intent: OrderIntent, now: datetime, max_age: timedelta) -> Verdict | None:
    """INTENT_STALE when ``intent`` is older than ``max_age`` at ``now``; None when it is fresh enough."""
    age = now - intent.ts
    if age <= max_age:
        return None
    return Verdict.blocked(
        STALE_GATE,
        reasons.INTENT_STALE,
        age_s=age.total_seconds(),
        max_age_s=max_age.total_seconds(),
        intent_ts=intent.ts.isoformat(),
    )
