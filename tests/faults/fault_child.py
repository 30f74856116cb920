"""Run the real ``tradebot`` command with one deterministic kill point armed.

    python fault_child.py POINT N SIGNAL -- <tradebot arguments>

The process sends itself SIGNAL (``KILL`` or ``TERM``) the N-th time (1-based) the run reaches POINT:

* ``bar``         before the decision stage takes its N-th bar (recorded bars, no decision yet)
* ``write_ahead`` right after the N-th order's write-ahead record is durable, before the venue is called
* ``submit``      right after the venue took the N-th order, before the ledger marks it submitted
* ``cancel``      right after the venue cancelled the N-th exit's resting bracket legs (one call), before the
                  bar's events are committed
* ``fill``        when the N-th fill event reaches the engine, before it is applied
* ``reconcile``   right after startup reconciliation with the venue finished (only on a restart)
* ``close_started``   when the session-close sequence is about to begin, before anything of it is stored
* ``close_step``      right after the N-th completed step of the session-close sequence is stored
* ``close_step_work`` after the N-th step of the close did its work, before that is stored
* ``close_reports``   after the ``session_close`` event is committed, before the reports are written

Nothing of the daemon is replaced: each hook wraps the real function and calls it. A SIGKILL ends the process
at once; a SIGTERM is delivered to the daemon's own handler, which stops the run as an operator's would.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

POINTS = (
    "bar", "write_ahead", "submit", "cancel", "fill", "reconcile",
    "close_started", "close_step", "close_step_work", "close_reports",
)


def main(argv: list[str]) -> None:
    point, n, sig = argv[0], int(argv[1]), argv[2]
    if point not in POINTS:
        raise SystemExit(f"unknown kill point {point!r}; one of {', '.join(POINTS)}")
    assert argv[3] == "--"
    arm(point, n, signal.Signals[f"SIG{sig}"])
    from tradebot.cli import main as tradebot_main

    sys.argv = ["tradebot", *argv[4:]]
    tradebot_main()


def arm(point: str, n: int, sig: signal.Signals) -> None:
    count = 0

    def reached() -> None:
        nonlocal count
        count += 1
        if count == n:
            print(f"fault point reached: {point} #{n}, sending SIG{sig.name[3:]}", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os.kill(os.getpid(), sig)

    INSTALL[point](reached)


def _wrap_async(owner: Any, name: str, before: Callable[..., bool] | None, after: Callable[..., bool] | None,
                reached: Callable[[], None]) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    async def hooked(*args: Any, **kwargs: Any) -> Any:
        if before is not None and before(*args, **kwargs):
            reached()
        result = await original(*args, **kwargs)
        if after is not None and after(*args, **kwargs):
            reached()
        return result

    setattr(owner, name, hooked)


def _wrap_sync(owner: Any, name: str, before: Callable[..., bool], reached: Callable[[], None]) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def hooked(*args: Any, **kwargs: Any) -> Any:
        if before(*args, **kwargs):
            reached()
        return original(*args, **kwargs)

    setattr(owner, name, hooked)


def _always(*_: Any, **__: Any) -> bool:
    return True


def _bar(reached: Callable[[], None]) -> None:
    from tradebot.pipeline.engine import DecisionEngine

    _wrap_async(DecisionEngine, "on_bar", _always, None, reached)


def _write_ahead(reached: Callable[[], None]) -> None:
    from tradebot.pipeline.store_recorder import StoreRecorder

    def is_order(_self: Any, kind: str, *_: Any, **__: Any) -> bool:
        return kind == "order_submit"

    _wrap_async(StoreRecorder, "record_durable", None, is_order, reached)


def _submit(reached: Callable[[], None]) -> None:
    from tradebot.oms.manager import OrderManager

    _wrap_async(OrderManager, "_send", None, _always, reached)


def _cancel(reached: Callable[[], None]) -> None:
    """After the venue cancelled a bracket's resting legs (in one call), before the bar's unit commits."""
    from tradebot.brokers.sim.execution import SimBroker

    _wrap_async(SimBroker, "cancel_orders", None, _always, reached)


def _fill(reached: Callable[[], None]) -> None:
    from tradebot.pipeline.engine import DecisionEngine

    def is_fill(_self: Any, event: Any, *_: Any, **__: Any) -> bool:
        return type(event).__name__ == "OrderFilled" or getattr(event, "kind", None) == "order_filled"

    _wrap_sync(DecisionEngine, "on_broker_event", is_fill, reached)


def _reconcile(reached: Callable[[], None]) -> None:
    import tradebot.pipeline.session as session

    _wrap_async(session, "reconcile_after_restart", None, _always, reached)


def _close_started(reached: Callable[[], None]) -> None:
    from tradebot.session.progress import CloseJournal

    _wrap_async(CloseJournal, "started", _always, None, reached)


def _close_step(reached: Callable[[], None]) -> None:
    from tradebot.session.progress import CloseJournal

    _wrap_async(CloseJournal, "step_done", None, _always, reached)


def _close_step_work(reached: Callable[[], None]) -> None:
    from tradebot.session.progress import CloseJournal

    _wrap_async(CloseJournal, "step_done", _always, None, reached)


def _close_reports(reached: Callable[[], None]) -> None:
    import tradebot.session as session

    _wrap_sync(session, "write_window_reports", _always, reached)


INSTALL: dict[str, Callable[[Callable[[], None]], None]] = {
    "bar": _bar,
    "write_ahead": _write_ahead,
    "submit": _submit,
    "cancel": _cancel,
    "fill": _fill,
    "reconcile": _reconcile,
    "close_started": _close_started,
    "close_step": _close_step,
    "close_step_work": _close_step_work,
    "close_reports": _close_reports,
}


if __name__ == "__main__":
    main(sys.argv[1:])
