"""Builds a run from the settings and runs it: the only place that knows every part.

Modes differ in three things only (ARCHITECTURE.md): the clock, the venue, and whether orders leave the
process. observe: the simulated venue executes (nothing leaves the process). live: the configured broker
plugin executes. replay: the simulated venue, on the replay clock, into the given store.
A bar file always runs on the replay clock (bar time); bars from a broker run on the wall clock.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio

from tradebot.exit_codes import ExitCode


@dataclass(frozen=True, slots=True)
class RunOptions:
    mode: str  # observe | live | replay
    data: Path | None = None
    store: Path | None = None
    arm: bool = False
    quiet: bool = False
    intents: str | None = None  # JSON-lines intent file, or "-" for stdin
    max_bars: int | None = None  # stop taking bars after this many (smoke runs, tests)
    session: str | None = None  # rth | eth | 24h | until=HH:MM[TZ]: a cron-launched session


class RunRefused(Exception):
    """The run must not start; ``code`` is the process exit code."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


def run_app(settings: Any, options: RunOptions) -> int:
    from tradebot.pipeline.session import run_session
    from tradebot.session import SessionRefused

    try:
        summary = anyio.run(run_session, settings, options)
    except RunRefused as exc:
        print(f"tradebot: {exc}", file=sys.stderr)
        return int(exc.code)
    except SessionRefused as exc:
        print(f"tradebot: {exc.code}: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    from tradebot.pipeline.summary import render_summary

    print(render_summary(summary))  # --quiet silences the log console; the summary always prints
    if summary.get("trading_state") == "HALTED":
        return int(ExitCode.HALTED)
    if summary.get("session_close_ok") is False:
        return int(ExitCode.RECONCILIATION_FAILED)
    return int(ExitCode.OK)


def instrument_body(instrument: Any) -> dict[str, Any]:
    body = asdict(instrument)
    return {k: (str(v) if v is not None and not isinstance(v, str) else v) for k, v in body.items()}


def iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None
