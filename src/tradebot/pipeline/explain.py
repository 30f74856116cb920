"""``tradebot explain SEQ``: re-run one stored decision and show it reproduces.

The decision record names the snapshot it was made with (``snapshot``: the sha256 of a stored
``decision_snapshot``). From that snapshot alone the gate chain is rebuilt (the constitution as resolved,
the chain's gates and settings: its hash must equal the record's ``config_hash``); from the store's events
before the decision the state it was judged against is rebuilt exactly as a restart rebuilds it (risk
tracker and its rule states, portfolio, trading state, data validity and execution quality windows). The
stored intent then goes through the chain at the record's time and the new record is compared with the
stored one field by field.

A verdict the chain does not give is reported as such, not re-run: a dependency breaker's refusal
(``breaker``, appended after the chain) and an external intent refused as stale before the gates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any

import orjson

from tradebot.domain.calendars import shared_calendars
from tradebot.domain.codec import from_body
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderIntent
from tradebot.domain.state import Mode
from tradebot.oms.builder import build_request
from tradebot.oms.client_ids import client_order_id
from tradebot.pipeline.decision_snapshot import KIND as SNAPSHOT_KIND
from tradebot.pipeline.decision_snapshot import snapshot_sha256
from tradebot.pipeline.resume import load_resume_state
from tradebot.risk.build import build_chain
from tradebot.risk.constitution import Constitution
from tradebot.risk.decision_record import decision_record

# what a re-run must reproduce (the rest of a record describes the run, not the decision)
COMPARED = ("intent", "verdicts", "outcome", "code", "clamps", "scales", "approved", "order", "config_hash")
_NOT_GATES = {"breaker": "a dependency breaker refused it after the chain (not a gate)"}
_STALE_GATE = "intent_staleness"
_CLOCK = re.compile(r"\d\d:\d\d:\d\d")


class ExplainError(ValueError):
    """The event cannot be explained: not a decision, no snapshot, a store without it (exit 2)."""


@dataclass(frozen=True, slots=True)
class Explanation:
    seq: int
    ts: datetime
    stored: dict[str, Any]
    redone: dict[str, Any] | None  # None: not a decision of the chain (see ``note``)
    snapshot: str
    resolved: Mapping[str, Any]  # the snapshot itself
    note: str  # what was not re-run, and why ("" when all of it was)
    differences: tuple[tuple[str, Any, Any], ...]  # (field, stored, redone)

    @property
    def identical(self) -> bool:
        return self.redone is not None and not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts.isoformat(),
            "snapshot": self.snapshot,
            "identical": self.identical,
            "note": self.note,
            "differences": [{"field": f, "stored": a, "redone": b} for f, a, b in self.differences],
            "stored": self.stored,
            "redone": self.redone,
        }


def explain(store: Path, seq: int) -> Explanation:
    from tradebot.pipeline.run_parts import allocation_rules
    from tradebot.settings import Settings

    event, snapshot, mode = _read(store, seq)
    record = dict(event.body)
    settings = Settings.model_validate(snapshot["settings"])
    instruments = {s: from_body(Instrument, body) for s, body in snapshot["instruments"].items()}
    constitution = Constitution.model_validate(_clock_times(snapshot["constitution"]))
    if constitution.sha256 != snapshot["constitution_sha256"]:
        raise ExplainError(f"the snapshot's constitution does not hash to {snapshot['constitution_sha256']}")
    calendars = shared_calendars()
    chain = build_chain(
        snapshot["chain"],
        constitution,
        {"canary_symbols": tuple(settings.gates.canary_symbols)},
        calendars=calendars,
    )
    stored_verdicts = list(record.get("verdicts") or [])
    notes = [_NOT_GATES[v["gate"]] for v in stored_verdicts if v.get("gate") in _NOT_GATES]
    if [v.get("gate") for v in stored_verdicts] == [_STALE_GATE]:
        note = "an external intent refused as stale before the gates: nothing of the chain to re-run"
        return Explanation(seq, event.ts, record, None, str(record.get("snapshot")), snapshot, note, ())
    state = load_resume_state(
        store,
        instruments,
        calendars,
        allocation=allocation_rules(settings),
        constitution=constitution,
        until_seq=seq,
    )
    assert state.tracker is not None and state.portfolio is not None
    intent = from_body(OrderIntent, record["intent"])
    now = event.ts
    portfolio = state.portfolio
    context = state.tracker.snapshot(
        intent,
        now,
        portfolio.equity,
        portfolio.last_prices.get(intent.symbol, intent.reference_price),
        mode,
        state.machine.state,
        state.dvs.score(now, intent.symbol),
        state.eqs.score(now),
        trading_state_reason=state.machine.reason,
    )
    decision = chain.evaluate(intent, context)
    approved = decision.approved
    request = (
        build_request(approved, instruments[approved.symbol], client_order_id(approved.intent_id))
        if approved is not None and not notes
        else None
    )
    redone = orjson.loads(
        orjson.dumps(decision_record(decision, order=request, constitution_sha256=constitution.sha256))
    )
    compared: tuple[str, ...] = COMPARED
    if notes:  # the chain's part only: the record's outcome is the breaker's
        record_verdicts = [v for v in stored_verdicts if v.get("gate") not in _NOT_GATES]
        compared = ("intent", "verdicts", "clamps", "scales", "config_hash")
        stored_view = {**record, "verdicts": record_verdicts}
    else:
        stored_view = record
    differences = tuple(
        (key, stored_view.get(key), redone.get(key))
        for key in compared
        if _canonical(stored_view.get(key)) != _canonical(redone.get(key))
    )
    return Explanation(
        seq, event.ts, record, redone, str(record["snapshot"]), snapshot, "; ".join(notes), differences
    )


def _read(store: Path, seq: int) -> tuple[Any, Mapping[str, Any], Mode]:
    from tradebot.store import StoreReader

    with StoreReader(store) as reader:
        event = next(reader.iter_events(after_seq=seq - 1), None)
        if event is None or event.seq != seq:
            raise ExplainError(f"no event #{seq} in {store} (it holds #1..#{reader.max_seq()})")
        if event.kind != "decision":
            raise ExplainError(f"event #{seq} is a {event.kind}, not a decision")
        wanted = event.body.get("snapshot")
        if not wanted:
            raise ExplainError(
                f"decision #{seq} names no snapshot (recorded before decisions carried one): it cannot be "
                "re-run"
            )
        snapshot = None
        for stored in reader.iter_events(kinds=(SNAPSHOT_KIND,)):
            if stored.seq < seq and snapshot_sha256(stored.body) == wanted:
                snapshot = stored.body
        if snapshot is None:
            raise ExplainError(f"decision #{seq} names snapshot {wanted}, which the store does not hold")
        mode = Mode.OBSERVE
        for start in reader.iter_events(kinds=("run_start",)):
            if start.seq < seq:
                mode = Mode(start.body["mode"])
    return event, snapshot, mode


def _clock_times(value: Any) -> Any:
    """The constitution as its JSON dump wrote it, with its times of day back as times."""
    if isinstance(value, Mapping):
        return {k: _clock_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clock_times(v) for v in value]
    if isinstance(value, str) and _CLOCK.fullmatch(value):
        return time.fromisoformat(value)
    return value


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
