"""The comparable outcome of a run, read from its event store: what was decided, sent and filled, and when.

``outcome(store)`` is the sequence of outcome events (decisions with every gate's verdict and details, order
write-aheads, venue events, cancel requests, abandoned orders, closed trades, trading-state moves, external
intents received or refused), each with its event time and its whole body. Events that only describe a run
(run start, manifest, reconciliation report, connection) are left out, so a run stopped at any bar and
resumed on the same store must give exactly the outcome of the same run uninterrupted.

``first_difference(a, b)`` names the first event where two outcomes part (None when equal).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import orjson

OUTCOME_KINDS = (
    "decision",
    "order_submit",
    "order_submit_failed",
    "order_resubmit",
    "order_accepted",
    "order_rejected",
    "order_filled",
    "order_canceled",
    "order_expired",
    "order_cancel_request",
    "order_abandoned",
    "trade_closed",
    "order_tca",
    "trading_state",
    "external_intent",
    "intent_refused",
    "sleeve_weight",
    "quarantine",
    "trade_attribution",
    "shadow_trade",
)


END = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class OutcomeEvent:
    kind: str
    ts: datetime
    symbol: str | None
    client_order_id: str | None
    body: str  # canonical JSON (sorted keys)

    def __str__(self) -> str:
        return f"{self.kind} at {self.ts.isoformat()} {self.body[:600]}"


def outcome(store: Path, *, after: datetime | None = None) -> tuple[OutcomeEvent, ...]:
    """The outcome events of ``store`` in store order; with ``after``, only those later than that time.

    Trade attributions are stored when a run ends, so a run stopped and resumed stores them at two places:
    they come last, sorted by their body, their time set to ``END`` (one attribution a trade either way)."""
    from tradebot.store import StoreReader

    with StoreReader(store) as reader:
        events = [
            OutcomeEvent(
                e.kind,
                e.ts,
                e.symbol,
                e.client_order_id,
                orjson.dumps(e.body, option=orjson.OPT_SORT_KEYS).decode(),
            )
            for e in reader.iter_events(kinds=OUTCOME_KINDS)
            if after is None or e.ts > after
        ]
    attributions = sorted(
        (replace(e, ts=END) for e in events if e.kind == "trade_attribution"), key=lambda e: e.body
    )
    return (*(e for e in events if e.kind != "trade_attribution"), *attributions)


def codes(events: tuple[OutcomeEvent, ...], kind: str = "decision") -> list[str]:
    """The ``code`` of each event of ``kind`` (a decision's code is its blocking reason, or APPROVED)."""
    return [str(orjson.loads(e.body).get("code")) for e in events if e.kind == kind]


def first_difference(a: tuple[OutcomeEvent, ...], b: tuple[OutcomeEvent, ...]) -> str | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            at = next((j for j, (c, d) in enumerate(zip(x.body, y.body, strict=False)) if c != d), 0)
            return (
                f"event #{i} differs: {x.kind} at {x.ts.isoformat()} vs {y.kind} at {y.ts.isoformat()}\n"
                f"  ...{x.body[max(0, at - 200):at + 200]}\n  ...{y.body[max(0, at - 200):at + 200]}"
            )
    if len(a) != len(b):
        longer = a if len(a) > len(b) else b
        return f"lengths {len(a)} != {len(b)}; first extra: {longer[min(len(a), len(b))]}"
    return None
