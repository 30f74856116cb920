"""What the event store says about a ``--session`` run: the window fixed when the session started, and how
far its close sequence got. A restart on the same store keeps the window and finishes an interrupted close.

The events (each written durably, before the next step starts):

- ``session_window``: the window, recorded once when a session starts; a restart keeps it and records none.
- ``session_close_started``: the close sequence began (``reason``, ``window``, ``day_orders``: the DAY
  orders open at the venue then, so a cancel step redone after a restart reports the same orders).
- ``session_close_step``: one step of it completed (``step`` and what the step did, its problems included).
- ``session_close``: the SESSION_CLOSE_CLEANUP record; it also marks the ``record`` step done.
- ``session_close_done``: the reports are written, the close is complete.

``plan_window`` decides, from that and the clock, what a start does:

- no stored window, or the stored window's close completed and the window is over: a ``new`` window from
  the calendar (``MarketClosed`` when there is nothing to trade);
- the stored window is still open and no close is under way: ``kept`` (trade on to its close);
- a close is under way, or the window is over but never closed: ``close_only`` (finish the close
  sequence, write the report, exit; no bar is traded and no new window opens).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from tradebot.session.shutdown import RECORD_STEP, SESSION_CLOSE_KIND
from tradebot.session.window import SessionKind, SessionWindow

SESSION_WINDOW_KIND = "session_window"
CLOSE_STARTED_KIND = "session_close_started"
CLOSE_STEP_KIND = "session_close_step"
CLOSE_DONE_KIND = "session_close_done"
_KINDS = (SESSION_WINDOW_KIND, CLOSE_STARTED_KIND, CLOSE_STEP_KIND, SESSION_CLOSE_KIND, CLOSE_DONE_KIND)

PlanKind = Literal["new", "kept", "close_only"]


@dataclass(frozen=True, slots=True)
class SessionProgress:
    """The latest stored window and the state of its latest close sequence."""

    window: SessionWindow | None = None
    close_started: bool = False
    close_done: bool = False
    close_reason: str | None = None
    steps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # done steps of the latest close
    close_day_orders: tuple[str, ...] = ()  # the DAY orders open when the latest close began

    @property
    def close_pending(self) -> bool:
        """A close sequence began and did not finish."""
        return self.close_started and not self.close_done


@dataclass(frozen=True, slots=True)
class WindowPlan:
    window: SessionWindow
    kind: PlanKind
    progress: SessionProgress

    @property
    def resumes_close(self) -> bool:
        """The close sequence to run is one already begun: its recorded steps are not done again."""
        return self.progress.close_pending and self.progress.window == self.window


def window_from_dict(body: Mapping[str, Any]) -> SessionWindow:
    """The ``SessionWindow`` of a ``session_window`` event body (``SessionWindow.as_dict``)."""
    kind: SessionKind = body["kind"]
    day = body.get("day")
    return SessionWindow(
        open=datetime.fromisoformat(body["open"]),
        close=datetime.fromisoformat(body["close"]),
        kind=kind,
        calendar=str(body["calendar"]),
        spec=str(body["spec"]),
        day=date.fromisoformat(day) if day else None,
    )


def load_session_progress(store_path: Path) -> SessionProgress:
    """Read the stored window and close progress (an empty progress when the store does not exist)."""
    if not Path(store_path).exists():
        return SessionProgress()
    from tradebot.store import StoreReader

    window: SessionWindow | None = None
    started = done = False
    reason: str | None = None
    steps: dict[str, Mapping[str, Any]] = {}
    day_orders: tuple[str, ...] = ()
    with StoreReader(store_path) as reader:
        for event in reader.iter_events(kinds=_KINDS):
            body = event.body
            if event.kind == SESSION_WINDOW_KIND:
                window = window_from_dict(body)
                started, done, reason, steps = False, False, None, {}
            elif event.kind == CLOSE_STARTED_KIND:
                started, done, reason, steps = True, False, str(body.get("reason") or ""), {}
                day_orders = tuple(str(cid) for cid in body.get("day_orders") or ())
            elif event.kind == CLOSE_STEP_KIND and started:
                steps[str(body["step"])] = body
            elif event.kind == SESSION_CLOSE_KIND:
                if started:
                    steps[RECORD_STEP] = body
                else:  # a close recorded without markers (a store written before them): complete
                    done = True
            elif event.kind == CLOSE_DONE_KIND and started:
                done = True
    return SessionProgress(window, started, done, reason, steps, day_orders)


def plan_window(
    progress: SessionProgress, spec: str, now: datetime, fresh: Callable[[], SessionWindow]
) -> WindowPlan:
    """What a ``--session spec`` start at ``now`` trades (see the module doc); ``fresh()`` computes a new
    window from the calendar and may raise ``MarketClosed``. A stored window of another spec is kept only
    to finish its close."""
    stored = progress.window
    if stored is None:
        return WindowPlan(fresh(), "new", progress)
    if progress.close_pending or (now >= stored.close and not progress.close_done):
        return WindowPlan(stored, "close_only", progress)
    if now < stored.close and stored.spec == spec.strip():
        return WindowPlan(stored, "kept", progress)
    return WindowPlan(fresh(), "new", progress)


Writer = Callable[[str, dict[str, Any]], Awaitable[None]]


class CloseJournal:
    """Durable markers of the close sequence, so a restart knows which steps are done.

    ``write(kind, body)`` must append the event durably (committed before it returns).
    """

    def __init__(self, write: Writer, window: SessionWindow) -> None:
        self._write = write
        self.window = window

    async def started(self, reason: str, day_orders: Sequence[str] = ()) -> None:
        body = {"reason": reason, "window": self.window.as_dict(), "day_orders": sorted(day_orders)}
        await self._write(CLOSE_STARTED_KIND, body)

    async def step_done(self, step: str, body: Mapping[str, Any]) -> None:
        await self._write(CLOSE_STEP_KIND, {**body, "step": step})

    async def finished(self, ok: bool, reports: Mapping[str, str]) -> None:
        await self._write(CLOSE_DONE_KIND, {"ok": ok, "reports": dict(reports)})
