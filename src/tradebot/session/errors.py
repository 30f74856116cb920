"""Why a cron-launched session does not run (or stops): each refusal carries its process exit code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tradebot.domain import reasons
from tradebot.exit_codes import ExitCode


class SessionRefused(Exception):
    """Base of every session refusal. ``code`` is a reason code, ``exit_code`` the process exit code."""

    code: str = reasons.INTERNAL_ERROR
    exit_code: ExitCode = ExitCode.INTERNAL_ERROR

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class SessionSpecError(SessionRefused, ValueError):
    """A ``--session`` value that does not parse, or does not fit the instrument's calendar."""

    code = reasons.SESSION_SPEC_INVALID
    exit_code = ExitCode.CONFIG_ERROR


class MarketClosed(SessionRefused):
    """Started after today's close, on a holiday or a weekend: print MARKET_CLOSED and exit 0."""

    code = reasons.MARKET_CLOSED
    exit_code = ExitCode.OK

    def __init__(self, message: str, *, next_open: datetime | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.next_open = next_open


class OpenTooFar(SessionRefused):
    """The session opens later than the configured maximum wait: started far too early (a cron mistake)."""

    code = reasons.SESSION_WAIT_TOO_LONG
    exit_code = ExitCode.CONFIG_ERROR


class AlreadyRunning(SessionRefused):
    """Another process holds the instance lock for this account and config."""

    code = reasons.ALREADY_RUNNING
    exit_code = ExitCode.ALREADY_RUNNING


class ReconciliationFailed(SessionRefused):
    """Startup reconciliation failed, or found leftovers the policy refuses: do not trade."""

    code = reasons.RECONCILIATION_FAILED
    exit_code = ExitCode.RECONCILIATION_FAILED
