"""Cron-launched sessions: the window from the exchange calendar, waiting for the open, the single-instance
lock, startup leftovers, heartbeats, the session-close sequence and the session reports.

``tradebot run --session SPEC`` calls, in order (a refusal is a ``SessionRefused`` with ``exit_code``)::

    window = session_window(SPEC, instrument.calendar, clock.now(), calendars, regular_hours=...)
    async with instance_lock(run_dir, account, config_hash):
        await wait_for_open(window, clock, max_wait=timedelta(seconds=cfg.max_wait_s))
        ...manifest, connect, the pipeline's reconciliation (pipeline.resume)...
        cleanup = await startup_cleanup(broker, ledger_ids, our_positions, cfg.leftovers, now=clock.now())
        record(STARTUP_CLEANUP_KIND, cleanup.as_dict())
        ...pipeline | heartbeat(...) | wait_until(window.close, clock) in one task group (or SIGTERM)...
        closed = await close_session(broker, clock, flatten=..., record=..., write_reports=...,
                                     done=..., on_step=journal.step_done)   # resumable (session.progress)

A restart on the same store keeps the window stored when the session started and finishes a close that a
kill interrupted (``load_session_progress`` → ``plan_window``; ``CloseJournal`` stores each completed step).
"""

from tradebot.session.config import LeftoversPolicy, SessionConfig
from tradebot.session.errors import (
    AlreadyRunning,
    MarketClosed,
    OpenTooFar,
    ReconciliationFailed,
    SessionRefused,
    SessionSpecError,
)
from tradebot.session.heartbeat import HEARTBEAT_KIND, heartbeat
from tradebot.session.lock import InstanceLock, instance_lock, lock_path
from tradebot.session.progress import (
    CloseJournal,
    SessionProgress,
    WindowPlan,
    load_session_progress,
    plan_window,
    window_from_dict,
)
from tradebot.session.report import (
    OrderRow,
    ReportPaths,
    SessionReport,
    build_session_report,
    report_dir,
    write_session_reports,
    write_window_reports,
)
from tradebot.session.shutdown import SESSION_CLOSE_KIND, SessionCloseRecord, close_session
from tradebot.session.startup import STARTUP_CLEANUP_KIND, StartupCleanupReport, startup_cleanup
from tradebot.session.wait import WaitResult, wait_for_open, wait_until
from tradebot.session.window import (
    RegularHours,
    SessionSpec,
    SessionWindow,
    parse_session_spec,
    regular_hours_of,
    session_window,
)

__all__ = [
    "HEARTBEAT_KIND",
    "SESSION_CLOSE_KIND",
    "STARTUP_CLEANUP_KIND",
    "AlreadyRunning",
    "CloseJournal",
    "InstanceLock",
    "LeftoversPolicy",
    "MarketClosed",
    "OpenTooFar",
    "OrderRow",
    "ReconciliationFailed",
    "RegularHours",
    "ReportPaths",
    "SessionCloseRecord",
    "SessionConfig",
    "SessionProgress",
    "SessionRefused",
    "SessionReport",
    "SessionSpec",
    "SessionSpecError",
    "SessionWindow",
    "StartupCleanupReport",
    "WaitResult",
    "WindowPlan",
    "build_session_report",
    "close_session",
    "heartbeat",
    "instance_lock",
    "load_session_progress",
    "lock_path",
    "parse_session_spec",
    "plan_window",
    "regular_hours_of",
    "report_dir",
    "session_window",
    "startup_cleanup",
    "wait_for_open",
    "wait_until",
    "window_from_dict",
    "write_session_reports",
    "write_window_reports",
]
