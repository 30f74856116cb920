"""Fail closed: an exception no stage handled stops the run with trading HALTED, recorded and persisted.

``fail_closed(engine, stage, exc)``:

1. classifies the exception (``ops.errors.classify_unhandled``: always HALT_TRADING) and finds the part of
   the pipeline it came from: the innermost frame of ours (feed, ingest, signals, sizer, gates, portfolio,
   recorder, oms, broker, broker events, intents ...), and the stage task it escaped from;
2. records an ``internal_error`` event (reason code, stage, part, exception and message) and moves the
   trading state to HALTED with the same details (``engine.fail_closed``: a ``trading_state`` event, held
   until an operator resumes, so a restart on the same store comes up HALTED), which raises ALERT_HALT
   through the alert sinks;
3. returns ``PipelineFailed``, which the caller raises: the run ends with one line (``line``) and exit 70.

The full traceback goes to the JSON log file only (and to the console with ``--debug``).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from loguru import logger

from tradebot.domain.errors import ErrorClass
from tradebot.ops.errors import ErrorClassifier, classify_unhandled
from tradebot.pipeline.engine import DecisionEngine

INTERNAL_ERROR_KIND = "internal_error"

# module prefix -> the part of the pipeline it is (longest prefix first)
_PARTS: tuple[tuple[str, str], ...] = (
    ("tradebot.pipeline.portfolio", "portfolio"),
    ("tradebot.pipeline.store_recorder", "recorder"),
    ("tradebot.pipeline.recorder", "recorder"),
    ("tradebot.pipeline.operator", "operator control"),
    ("tradebot.store", "recorder"),
    ("tradebot.sizing", "sizer"),
    ("tradebot.signals", "signals"),
    ("tradebot.models", "signals"),
    ("tradebot.risk", "gates"),
    ("tradebot.oms", "oms"),
    ("tradebot.brokers", "broker"),
    ("tradebot.feeds", "feed"),
    ("tradebot.ingest", "ingest"),
    ("tradebot.intents", "intents"),
    ("tradebot.ops", "ops"),
    ("tradebot.session", "session"),
)
# functions of the wiring modules that are a part of their own
_FUNCTIONS: dict[str, dict[str, str]] = {
    "tradebot.pipeline.engine": {
        "on_broker_event": "broker events",
        "_apply_venue_events": "broker events",
        "on_external": "intents",
        "_release_external": "intents",
        "decide": "decide",
        "on_bar": "decide",
    },
    "tradebot.pipeline.session": {
        "_csv_source": "feed",
        "_broker_source": "feed",
        "_record_refused": "ingest",
        "_intent_source": "intents",
        "reconcile_after_restart": "startup reconciliation",
        "_startup_cleanup": "startup cleanup",
        "_close_session": "session close",
    },
    "tradebot.pipeline.runner": {
        "_ingest_stage": "ingest",
        "_signal_stage": "signals",
        "_events_stage": "broker events",
        "_intents_stage": "intents",
    },
    "tradebot.pipeline.resume": {"reconcile_after_restart": "startup reconciliation"},
}


@dataclass(frozen=True, slots=True)
class StageFailure:
    """Where an unhandled exception stopped the run, and how it was classified."""

    # the stage task it escaped from (ingest, signals, decide, broker events, intents), or the run's
    # "startup" (reconciliation, intent file, ...) or "shutdown" (session close) outside the stage tasks
    stage: str
    part: str  # the part of ours that raised it (sizer, portfolio, oms, feed, ...)
    where: str  # module.qualname of that frame
    error: ErrorClass
    recorded: bool
    record_error: str | None = None

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def message(self) -> str:
        exception = self.error.details.get("exception", "Exception")
        text = self.error.details.get("message", "")
        return f"{exception}: {text}" if text else str(exception)

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "stage": self.stage,
            "part": self.part,
            "where": self.where,
            "category": self.error.category.value,
            "error": self.message,
            "details": dict(self.error.details),
        }

    def line(self) -> str:
        """The one line the user sees (after ``tradebot: ``)."""
        place = self.part if self.part == self.stage else f"{self.part} ({self.stage} stage)"
        head = f"internal error in {place}, {self.where}: {self.message} [{self.code}]"
        if self.recorded:
            return head + "; trading HALTED and recorded, a restart stays HALTED until `tradebot resume`"
        return head + f"; trading stopped, but the halt could not be recorded ({self.record_error})"


class PipelineFailed(Exception):
    """The run stopped fail-closed (exit 70); ``failure`` says where and why."""

    def __init__(self, failure: StageFailure, exc: BaseException) -> None:
        super().__init__(failure.line())
        self.failure = failure
        self.exc = exc


def leaf(exc: BaseException) -> BaseException:
    """The first real exception inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def locate(exc: BaseException) -> tuple[str | None, str]:
    """(part, module.qualname) of the innermost frame of ours that the exception passed through."""
    frames = list(_frames(exc.__traceback__))
    for frame_globals, code in reversed(frames):
        module = str(frame_globals.get("__name__", ""))
        part = _part_of(module, code.co_name)
        if part is not None:
            return part, f"{module}.{code.co_qualname}"
    for frame_globals, code in reversed(frames):
        module = str(frame_globals.get("__name__", ""))
        if module.startswith("tradebot"):
            return None, f"{module}.{code.co_qualname}"
    return None, type(exc).__module__ + "." + type(exc).__qualname__


def _frames(tb: TracebackType | None) -> Any:
    while tb is not None:
        yield tb.tb_frame.f_globals, tb.tb_frame.f_code
        tb = tb.tb_next


def _part_of(module: str, function: str) -> str | None:
    by_function = _FUNCTIONS.get(module)
    if by_function is not None:
        return by_function.get(function)
    for prefix, part in _PARTS:
        if module == prefix or module.startswith(prefix + "."):
            return part
    if module.startswith("tradebot_"):  # a broker plugin
        return "broker"
    return None


def fail_closed(engine: DecisionEngine | None, stage: str, exc: BaseException) -> PipelineFailed:
    """Classify, record and halt (see the module doc); return the exception that ends the run."""
    if isinstance(exc, PipelineFailed):
        return exc
    raised = leaf(exc)
    broker: ErrorClassifier | None = None
    if engine is not None and hasattr(engine.broker, "classify_error"):
        broker = engine.broker
    error = classify_unhandled(raised, broker=broker)
    part, where = locate(raised)
    failure = StageFailure(stage, part or stage, where, error, recorded=False)
    recorded, record_error = _record(engine, failure)
    failure = StageFailure(stage, failure.part, where, error, recorded, record_error)
    logger.bind(
        code=error.code,
        stage=stage,
        part=failure.part,
        traceback="".join(traceback.format_exception(raised)),
    ).error(failure.line())
    return PipelineFailed(failure, raised)


def _record(engine: DecisionEngine | None, failure: StageFailure) -> tuple[bool, str | None]:
    if engine is None:
        return False, "the event store was not open yet"
    body = failure.body()
    try:
        now = engine.clock.now()
        engine.recorder.record(INTERNAL_ERROR_KIND, body, ts=now)
        before = engine.machine.state, engine.machine.reason, engine.machine.hold
        engine.fail_closed(
            failure.code,
            stage=failure.stage,
            part=failure.part,
            where=failure.where,
            error=failure.message,
        )
        if (engine.machine.state, engine.machine.reason, engine.machine.hold) == before:
            # already halted for the same reason (a restart into a halted store): the alert still goes out
            engine.ops.dispatcher.emit(engine.ops.rules.on_error(now, failure.error))
    except Exception as exc:  # noqa: BLE001 - the store itself may be what failed: the run still stops
        return False, f"{type(exc).__name__}: {exc}"
    return True, None
