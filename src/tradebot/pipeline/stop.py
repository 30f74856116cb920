"""SIGTERM / SIGINT for the whole run: startup, trading and shutdown alike.

A signal never kills the process half-way through a step. It only records that a stop was asked for; then

* before the event store is open (startup: settings, resume state, venue, gates, ensembles, the wait for a
  session's open), the next ``checkpoint`` raises ``RunInterrupted``: nothing was recorded, the run ends
  with one line and the documented exit code;
* once the pipeline runs, its intake stops, what is in flight is drained and the store is flushed (the
  subscribers given to ``subscribe`` are called on the event loop);
* during shutdown (session close, flush), the signal is noted and the shutdown finishes.

The handlers stay installed until ``restore`` (asyncio's own signal handling would put the default
handler back when the pipeline ends, and a late SIGTERM would then kill the close sequence).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from types import FrameType
from typing import Any

import anyio

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class RunInterrupted(Exception):
    """A stop was asked for (``signal``) during startup, before ``step`` finished; nothing was traded."""

    def __init__(self, signal_name: str, step: str) -> None:
        super().__init__(f"stopped by {signal_name} during startup ({step})")
        self.signal_name = signal_name
        self.step = step


class StopRequest:
    """The first stop signal of the run, and who to tell about it."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self.state_at_start: Mapping[str, Any] | None = None  # the stored trading state (``checkpoint``)
        self._listeners: list[tuple[asyncio.AbstractEventLoop, Callable[[], None]]] = []
        self._previous: dict[signal.Signals, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    # --- handlers -----------------------------------------------------------------------------------
    def install(self) -> None:
        """Take SIGTERM and SIGINT (main thread only; elsewhere nothing changes)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in _SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.request(signal.Signals(signum).name)

    def request(self, signal_name: str) -> None:
        """Record a stop (the first signal's name is kept) and tell every subscriber on its loop."""
        if self.signal_name is None:
            self.signal_name = signal_name
        for loop, callback in list(self._listeners):
            if not loop.is_closed():
                loop.call_soon_threadsafe(callback)

    # --- users --------------------------------------------------------------------------------------
    def checkpoint(self, step: str, state: Mapping[str, Any] | None = None) -> None:
        """Startup, between steps: raise ``RunInterrupted`` if a stop was asked for. ``state``: the trading
        state the store holds (``TradingStateMachine.to_dict``), once it is known."""
        if state is not None:
            self.state_at_start = state
        if self.signal_name is not None:
            raise RunInterrupted(self.signal_name, step)

    @contextlib.contextmanager
    def subscribe(self, callback: Callable[[], None]) -> Iterator[None]:
        """Call ``callback`` on the running event loop at a stop (at once if one was already asked for)."""
        entry = (asyncio.get_running_loop(), callback)
        self._listeners.append(entry)
        try:
            if self.signal_name is not None:
                callback()
            yield
        finally:
            self._listeners.remove(entry)

    @contextlib.contextmanager
    def cancelling(self, step: str) -> Iterator[None]:
        """An awaitable startup step (a wait for the open) that a stop cancels; then ``RunInterrupted``."""
        with anyio.CancelScope() as scope, self.subscribe(scope.cancel):
            yield
        self.checkpoint(step)
