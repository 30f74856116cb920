"""Builds a run from the settings and runs it: the only place that knows every part.

Modes differ in three things only (ARCHITECTURE.md): the clock, the venue, and whether orders leave the
process. observe: the simulated venue executes (nothing leaves the process). live: the configured broker
plugin executes. replay: the simulated venue, on the replay clock, into the given store.
A bar file always runs on the replay clock (bar time); bars from a broker run on the wall clock.

Exit codes (README): a run that ends by itself (end of the data, ``--max-bars``, the session's close) exits 5
when trading is HALTED at its end, by the constitution or an operator. A run stopped by SIGTERM/SIGINT says
why it stopped: 0, a clean stop on request (during startup too: nothing recorded, nothing traded) —
unless the trading state is HALTED and held until an operator resumes (kill switch, fail-closed), then 5;
an automatic constitution halt (consecutive losses, daily loss cap) lifts by itself at the next session and
does not change the stop's code; the stderr line names it. An unexpected error stops the run fail-closed
(``pipeline.failure``): ``PipelineFailed`` reaches the command line, exit 70.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio

from tradebot.exit_codes import ExitCode
from tradebot.settings import Settings


@dataclass(frozen=True, slots=True)
class RunOptions:
    mode: str  # observe | live | replay
    data: Path | None = None  # one bar file (its instrument: ``symbol``, else [data] symbol)
    symbol: str | None = None
    feeds: tuple[tuple[str, Path], ...] = ()  # several bar files: (symbol, file) each (--data SYMBOL=FILE)
    store: Path | None = None
    arm: bool = False
    quiet: bool = False
    intents: str | None = None  # JSON-lines intent file, or "-" for stdin
    max_bars: int | None = None  # stop taking bars after this many (smoke runs, tests)
    session: str | None = None  # rth | eth | 24h | until=HH:MM[TZ]: a cron-launched session
    resume: bool = False  # continue the named (or the latest) store instead of writing a new one
    quotes: tuple[tuple[str, Path], ...] = ()  # --quotes SYMBOL=FILE: bid/ask for the orders' TCA


class RunRefused(Exception):
    """The run must not start; ``code`` is the process exit code."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


def run_app(settings: Settings, options: RunOptions) -> int:
    from tradebot.pipeline.session import run_session
    from tradebot.pipeline.stop import RunInterrupted, StopRequest
    from tradebot.session import SessionRefused

    stop = StopRequest()
    stop.install()  # before anything starts: a SIGTERM during startup is a clean stop, never a kill
    try:
        summary = anyio.run(run_session, settings, options, stop)
    except RunRefused as exc:
        print(f"tradebot: {exc}", file=sys.stderr)
        return int(exc.code)
    except SessionRefused as exc:
        print(f"tradebot: {exc.code}: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except RunInterrupted as exc:
        state = stop.state_at_start or {}
        held = _held_by_operator(state.get("state"), state.get("hold"))
        note = f"; trading stays HALTED ({state.get('reason')}) until `tradebot resume`" if held else ""
        print(f"tradebot: {exc}: nothing was recorded or traded{note}", file=sys.stderr)
        return int(ExitCode.HALTED if held else ExitCode.OK)
    finally:
        stop.restore()
    from tradebot.pipeline.summary import render_summary

    paths = summary.pop("paths", None)
    if paths is not None and "store" in paths:
        paths["verdict"] = _verdict(Path(paths["store"]))
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    print(render_summary(summary, paths, width=width))  # --quiet silences the log; the summary always prints
    halted = summary.get("trading_state") == "HALTED"
    if stop.signal_name is not None:
        held = _held_by_operator(summary.get("trading_state"), summary.get("trading_state_hold"))
        print(f"tradebot: stopped by {stop.signal_name}{_state_note(summary)}", file=sys.stderr)
        if held:
            return int(ExitCode.HALTED)
    elif halted:
        return int(ExitCode.HALTED)
    if summary.get("session_close_ok") is False:
        return int(ExitCode.RECONCILIATION_FAILED)
    return int(ExitCode.OK)


def _verdict(store: Path) -> str:
    """The report's one-line verdict (net PnL, costs, max drawdown) of the run's store. A report that cannot
    be built says why in that line: the run itself is over and recorded either way."""
    from tradebot.analytics.report import build_report

    try:
        return str(build_report(store).data["verdict"])
    except Exception as exc:  # noqa: BLE001 - the summary must print; the error is named, not raised
        return f"unavailable ({type(exc).__name__}: {exc}); try `tradebot report --store {store}`"


def _held_by_operator(state: object, hold: object) -> bool:
    """HALTED until an operator resumes (a kill switch or a fail-closed halt), not an automatic hold."""
    return state == "HALTED" and hold == "OPERATOR"


def _state_note(summary: dict[str, Any]) -> str:
    state = summary.get("trading_state")
    if state == "ACTIVE" or not summary.get("trading_state_reason"):
        return ""
    if summary.get("trading_state_hold") == "OPERATOR":
        return f"; trading stays {state} ({summary['trading_state_reason']}) until `tradebot resume`"
    return (
        f"; trading was {state} ({summary['trading_state_reason']}), an automatic hold that lifts at the "
        "next session"
    )


def instrument_body(instrument: Any) -> dict[str, Any]:
    """The stored spec: values as strings, ``inverse`` only when set (so a store recorded before it
    existed holds the same spec and is continued)."""
    body = asdict(instrument)
    inverse = body.pop("inverse", False)
    spec = {k: (str(v) if v is not None and not isinstance(v, str) else v) for k, v in body.items()}
    return {**spec, "inverse": True} if inverse else spec


def iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None
