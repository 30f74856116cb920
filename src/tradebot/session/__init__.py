"""Cron-launched sessions: the window from the exchange calendar, waiting for the open, the single-instance
lock, startup leftovers, the session-close sequence and the session reports.

The pipeline (``tradebot run --session ...``) calls, in order::

    window = session_window(parse_session_spec(spec), instrument.calendar, clock.now(), calendars)
    with instance_lock(run_dir, account, config_hash):
        await wait_for_open(window, clock, max_wait=timedelta(seconds=cfg.max_wait_s))
        report = await startup_cleanup(broker, ledger_ids, our_positions, cfg.leftovers, now=clock.now())
        ...trade until window.close (or SIGTERM)...
        record = await close_session(broker, clock, flatten=..., record=..., write_reports=...)
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
from tradebot.session.report import (
    OrderRow,
    ReportPaths,
    SessionReport,
    build_session_report,
    report_dir,
    write_session_reports,
)
from tradebot.session.shutdown import SESSION_CLOSE_KIND, SessionCloseRecord, close_session
from tradebot.session.startup import STARTUP_CLEANUP_KIND, StartupCleanupReport, startup_cleanup
from tradebot.session.wait import WaitResult, wait_for_open, wait_until
from tradebot.session.window import (
    RegularHours,
    SessionSpec,
    SessionWindow,
    parse_session_spec,
    session_window,
)

__all__ = [
    "HEARTBEAT_KIND",
    "SESSION_CLOSE_KIND",
    "STARTUP_CLEANUP_KIND",
    "AlreadyRunning",
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
    "SessionRefused",
    "SessionReport",
    "SessionSpec",
    "SessionSpecError",
    "SessionWindow",
    "StartupCleanupReport",
    "WaitResult",
    "build_session_report",
    "close_session",
    "heartbeat",
    "instance_lock",
    "lock_path",
    "parse_session_spec",
    "report_dir",
    "session_window",
    "startup_cleanup",
    "wait_for_open",
    "wait_until",
    "write_session_reports",
]
