"""The session-close sequence (session boundary hygiene), recorded as SESSION_CLOSE_CLEANUP.

In order: (1) cancel open DAY orders and confirm each is gone, (2) flatten if configured (through the
caller's callback, which sends reduce-only orders through the OMS), (3) the final reconciliation (the
caller's callback, or: venue positions against the positions the caller expects), (3b) post-trade
learning when the caller passes it, (4) record the
``session_close`` event, (5) write the reports. Every step runs even when an earlier one failed: a
failure is classified (``ops.errors.classify_exception``), logged and listed in ``problems`` with its
reason code, and ``ok`` is False, so the caller can exit non-zero. Nothing is silently skipped.
SIGTERM runs the same sequence (the caller decides when; this module only does it).

Resumable: ``on_step(name, body)`` is told after each step with what it did (its problems included), for the
caller to store durably; a restart passes those bodies back as ``done`` and the sequence skips each done
step, taking its result from the body instead, so a cancel or flatten is never sent twice and the record
and the reports are completed. A step stored with problems is tried again. The ``session_close`` event
marks the ``record`` step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import anyio
from loguru import logger

from tradebot.brokers.protocol import Broker
from tradebot.domain import reasons
from tradebot.domain.clock import Clock
from tradebot.domain.orders import TimeInForce
from tradebot.ops.errors import classify_exception

ZERO = Decimal(0)
SESSION_CLOSE_KIND = "session_close"  # the event kind ``record`` is called with
RECORD_STEP = "record"  # the step that records the ``session_close`` event (the event is its marker)
# what each step contributes to the record: restored from the step's stored body when it is not redone
_STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "cancel_day_orders": ("day_orders_canceled", "day_orders_still_open"),
    "flatten": ("flattened", "flatten_result"),
    "venue_snapshot": ("positions_after", "open_orders_after"),
    "reconcile": ("reconciliation",),
    "learn": ("learning",),
    "write_reports": ("reports",),
}
StepWriter = Callable[[str, Mapping[str, Any]], Awaitable[None]]
Sleeper = Callable[[float], Awaitable[None]]
ReportWriter = Callable[[], Awaitable[Mapping[str, str] | None]]


@dataclass(slots=True)
class SessionCloseRecord:
    at: datetime
    reason: str  # why the session closed: session_end | sigterm | halted | ...
    code: str = reasons.SESSION_CLOSE_CLEANUP
    day_orders_canceled: list[str] = field(default_factory=list)
    day_orders_still_open: list[str] = field(default_factory=list)
    flattened: bool = False
    flatten_result: Any = None
    positions_after: dict[str, str] = field(default_factory=dict)
    open_orders_after: list[str] = field(default_factory=list)
    reconciliation: dict[str, Any] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)
    learning: dict[str, Any] = field(default_factory=dict)  # the learning step's outcome (when it ran)
    problems: list[dict[str, Any]] = field(default_factory=list)
    finished_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "reason": self.reason, "at": self.at.isoformat(), "ok": self.ok,
            "day_orders_canceled": list(self.day_orders_canceled),
            "day_orders_still_open": list(self.day_orders_still_open),
            "flattened": self.flattened, "flatten_result": _jsonable(self.flatten_result),
            "positions_after": dict(self.positions_after), "open_orders_after": list(self.open_orders_after),
            "reconciliation": _jsonable(self.reconciliation), "reports": dict(self.reports),
            "problems": [dict(p) for p in self.problems],
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        } | ({"learning": _jsonable(self.learning)} if self.learning else {})


async def close_session(
    broker: Broker,
    clock: Clock,
    *,
    reason: str = "session_end",
    cancel_day_orders: bool = True,
    flatten: Callable[[], Awaitable[Any]] | None = None,
    reconcile: Callable[[], Awaitable[Mapping[str, Any]]] | None = None,
    expected_positions: Callable[[], Mapping[str, Decimal]] | None = None,
    record: Callable[[str, dict[str, Any]], object] | None = None,
    write_reports: ReportWriter | None = None,
    cancel_timeout: timedelta = timedelta(seconds=30),
    sleep: Sleeper = anyio.sleep,
    poll_s: float = 0.5,
    done: Mapping[str, Mapping[str, Any]] | None = None,
    on_step: StepWriter | None = None,
    day_orders_at_start: Sequence[str] = (),
    learn: Callable[[], Awaitable[Mapping[str, Any]]] | None = None,
) -> SessionCloseRecord:
    """Run the close sequence (see the module doc) and return what it did.

    ``flatten``: None means do not flatten (``session.flatten_at_close = false``). ``reconcile``: the
    pipeline's final reconciliation; without it, venue positions are compared with
    ``expected_positions()`` when given. ``record(kind, body)`` appends the ``session_close`` event;
    ``write_reports()`` runs last (after the event is recorded, so the reports include it) and returns
    the written paths by name. ``done``/``on_step``: see the module doc. ``day_orders_at_start``: the DAY
    orders open when the close began (stored with its start): a cancel step redone after a restart reports
    those the stopped run already canceled too, so the record is the uninterrupted run's.
    ``learn()``: post-trade learning (``tradebot.learning``), a step after the reconciliation.
    """
    out = SessionCloseRecord(at=clock.now(), reason=reason)
    finished = done or {}

    async def step(name: str, work: Callable[[], Awaitable[None]]) -> None:
        await _step(out, name, broker, work, finished.get(name), on_step)

    if cancel_day_orders:
        known = tuple(day_orders_at_start)
        await step("cancel_day_orders",
                   lambda: _cancel_day_orders(broker, out, cancel_timeout, sleep, poll_s, known))
    if flatten is not None:
        flatten_now = flatten
        await step("flatten", lambda: _flatten(flatten_now, out))
    await step("venue_snapshot", lambda: _snapshot(broker, out))
    if flatten is not None:
        for symbol, qty in out.positions_after.items():
            out.problems.append({"step": "flatten", "code": reasons.SESSION_CLOSE_CLEANUP,
                                 "message": f"position {symbol} {qty} still open after flattening"})
    if reconcile is not None:
        reconcile_now = reconcile
        await step("reconcile", lambda: _reconcile(reconcile_now, out))
    elif expected_positions is not None:
        _compare_positions(out, expected_positions())
    if learn is not None:
        learn_now = learn
        await step("learn", lambda: _learn(learn_now, out))
    out.finished_at = clock.now()
    if record is not None and RECORD_STEP not in finished:
        try:
            record(SESSION_CLOSE_KIND, out.as_dict())
        except Exception as exc:  # noqa: BLE001 - listed in problems and logged: the close must go on
            _problem(out, "record", exc, broker)
    if write_reports is not None:
        await step("write_reports", lambda: _reports(write_reports, out))
    level = "INFO" if out.ok else "ERROR"
    logger.log(level, "SESSION_CLOSE_CLEANUP ({}): canceled {} DAY order(s), flattened={}, problems={}",
               reason, len(out.day_orders_canceled), out.flattened, out.problems)
    return out


async def _step(
    out: SessionCloseRecord,
    name: str,
    broker: Broker,
    work: Callable[[], Awaitable[None]],
    recorded: Mapping[str, Any] | None,
    on_step: StepWriter | None,
) -> None:
    if recorded is not None and not recorded.get("problems"):  # done before a restart: not run again
        for attr in _STEP_FIELDS.get(name, ()):
            if attr in recorded:
                setattr(out, attr, recorded[attr])
        out.problems.extend(dict(p) for p in recorded.get("problems", []))
        return
    before = len(out.problems)
    try:
        await work()
    except Exception as exc:  # noqa: BLE001 - classified, logged and listed in problems; next step runs
        _problem(out, name, exc, broker)
    if on_step is None:
        return
    body = {attr: _jsonable(getattr(out, attr)) for attr in _STEP_FIELDS.get(name, ())}
    body["problems"] = [dict(p) for p in out.problems[before:]]
    try:
        await on_step(name, body)
    except Exception as exc:  # noqa: BLE001 - the step is done; an unrecorded step is redone on a restart
        _problem(out, f"{name} (recording it)", exc, broker)


def _problem(out: SessionCloseRecord, step: str, exc: BaseException, broker: Broker) -> None:
    error = classify_exception(exc, broker=broker)
    logger.error("session close step {} failed: {} ({})", step, exc, error.code)
    out.problems.append({"step": step, "code": error.code, "category": error.category.value,
                         "message": f"{type(exc).__name__}: {exc}"})


async def open_day_orders(broker: Broker) -> tuple[str, ...]:
    """The client order ids of the DAY orders open at the venue, sorted."""
    return tuple(sorted(o.client_order_id for o in await broker.open_orders() if o.tif is TimeInForce.DAY))


async def _cancel_day_orders(
    broker: Broker, out: SessionCloseRecord, timeout: timedelta, sleep: Sleeper, poll_s: float,
    known: Sequence[str] = (),
) -> None:
    open_now = await open_day_orders(broker)
    for cid in open_now:
        await broker.cancel(cid)
    pending = {*open_now, *known}  # known and no longer open: canceled before a restart, reported again
    waited = 0.0
    while pending:
        for cid in sorted(pending):
            snapshot = await broker.order_status(cid)
            if snapshot is None or snapshot.status.is_terminal:
                pending.discard(cid)
                out.day_orders_canceled.append(cid)
        if not pending or waited >= timeout.total_seconds():
            break
        await sleep(poll_s)
        waited += poll_s
    out.day_orders_still_open = sorted(pending)
    for cid in out.day_orders_still_open:
        out.problems.append({"step": "cancel_day_orders", "code": reasons.SESSION_CLOSE_CLEANUP,
                             "message": f"DAY order {cid} still open {timeout.total_seconds():g}s "
                                        "after cancel"})


async def _flatten(flatten: Callable[[], Awaitable[Any]], out: SessionCloseRecord) -> None:
    out.flatten_result = await flatten()
    out.flattened = True


async def _snapshot(broker: Broker, out: SessionCloseRecord) -> None:
    out.positions_after = {p.symbol: str(p.quantity) for p in await broker.positions() if p.quantity != ZERO}
    out.open_orders_after = sorted(o.client_order_id for o in await broker.open_orders())


async def _reconcile(reconcile: Callable[[], Awaitable[Mapping[str, Any]]], out: SessionCloseRecord) -> None:
    result = dict(await reconcile())
    out.reconciliation = result
    mismatches = result.get("mismatches")
    if mismatches:
        out.problems.append({"step": "reconcile", "code": reasons.RECONCILIATION_MISMATCH,
                             "message": f"positions disagree with the venue: {mismatches}"})


def _compare_positions(out: SessionCloseRecord, expected: Mapping[str, Decimal]) -> None:
    ours = {s: q for s, q in expected.items() if q != ZERO}
    venue = {s: Decimal(q) for s, q in out.positions_after.items()}
    mismatches = [
        {"symbol": s, "venue": str(venue.get(s, ZERO)), "ours": str(ours.get(s, ZERO))}
        for s in sorted(set(ours) | set(venue)) if venue.get(s, ZERO) != ours.get(s, ZERO)
    ]
    out.reconciliation = {"mismatches": mismatches}
    if mismatches:
        out.problems.append({"step": "reconcile", "code": reasons.RECONCILIATION_MISMATCH,
                             "message": f"positions disagree with the venue: {mismatches}"})


async def _learn(learn: Callable[[], Awaitable[Mapping[str, Any]]], out: SessionCloseRecord) -> None:
    out.learning = dict(await learn())


async def _reports(write_reports: ReportWriter, out: SessionCloseRecord) -> None:
    paths = await write_reports()
    out.reports = {str(k): str(v) for k, v in (paths or {}).items()}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if hasattr(value, "as_dict"):
        return _jsonable(value.as_dict())
    return str(value)
