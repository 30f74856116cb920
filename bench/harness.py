"""Driving the real pipeline in-process, with the few hooks a benchmark needs.

The hooks wrap, they do not replace, pipeline parts: ``capture_stats`` keeps the ``RunStats`` of the run,
``time_summary`` times the end-of-run store summary apart from the bar loop, and ``store_off`` swaps the
event store's writer for ``NullWriter`` (the pipeline has no "no store" switch; see docs/benchmarks.md).
All of them are context managers that restore what they patched.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio


@dataclass(slots=True)
class RunProbe:
    """What the hooks saw of one run."""

    stats: Any = None
    summary_s: float = 0.0
    appended: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    original = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, original)


@contextlib.contextmanager
def capture_stats(probe: RunProbe) -> Iterator[None]:
    from tradebot.pipeline.engine import DecisionEngine

    original = DecisionEngine.finish

    def finish(self: DecisionEngine) -> None:
        original(self)
        probe.stats = self.stats

    with patched(DecisionEngine, "finish", finish):
        yield


@contextlib.contextmanager
def time_summary(probe: RunProbe) -> Iterator[None]:
    import tradebot.pipeline.session as session

    original = session.summarize_store

    def summarize(path: Path) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            result: dict[str, Any] = original(path)
            return result
        finally:
            probe.summary_s += time.perf_counter() - start

    with patched(session, "summarize_store", summarize):
        yield


class NullWriter:
    """The EventWriter's interface, writing nothing. ``encode=True`` still encodes each body (orjson), so
    the store's cost splits into encoding (on the loop) and writing (the writer thread, SQLite)."""

    encode = False

    def __init__(self, path: Path, probe: RunProbe | None) -> None:
        self.path = path
        self.resumed_after = 0
        self._seq = 0
        self._probe = probe
        self.last_body = b"{}"

    @classmethod
    def factory(cls, probe: RunProbe | None, *, encode: bool) -> Any:
        class _Writer(cls):  # type: ignore[valid-type, misc]
            pass

        _Writer.encode = encode

        @contextlib.asynccontextmanager
        async def open_(path: Path | str, **_: Any) -> AsyncIterator[NullWriter]:
            writer = _Writer(Path(path), probe)
            yield writer
            if probe is not None:
                probe.appended += writer._seq

        _Writer.open = staticmethod(open_)
        return _Writer

    failed = False

    @property
    def last_seq(self) -> int:
        return self._seq

    committed_seq = last_seq
    pending = 0

    def append(self, kind: str, body: object, *, ts: datetime, symbol: str | None = None,
               client_order_id: str | None = None) -> int:
        from tradebot.store.codec import encode_body, format_ts

        if self.encode or kind != "bar":  # the TCA watch reads an order event's body as the store holds it
            self.last_body = encode_body(body)
            format_ts(ts)
        self._seq += 1
        return self._seq

    async def append_durable(self, kind: str, body: object, *, ts: datetime, symbol: str | None = None,
                             client_order_id: str | None = None) -> int:
        return self.append(kind, body, ts=ts, symbol=symbol, client_order_id=client_order_id)

    async def flush(self) -> None:
        return None

    async def wait_capacity(self) -> None:
        return None


@contextlib.contextmanager
def store_off(probe: RunProbe, *, encode: bool = False) -> Iterator[None]:
    """The run's event store becomes a ``NullWriter``; the end-of-run summary (a store read) is skipped."""
    import tradebot.pipeline.session as session
    import tradebot.store as store

    writer = NullWriter.factory(probe, encode=encode)
    with patched(store, "EventWriter", writer), patched(session, "summarize_store", lambda _path: {}):
        yield


def run_replay(
    settings: Any, data: Path | tuple[tuple[str, Path], ...], store: Path, *, mode: str = "disk"
) -> tuple[float, RunProbe]:
    """One in-process ``tradebot replay`` of ``data`` (a file, or (symbol, file) pairs) into ``store``:
    (seconds of the bar loop, probe).

    ``mode``: "disk" or "tmpfs" (the caller picks where ``store`` is), "off" (no event store) or
    "encode_only" (bodies encoded, nothing written). The end-of-run summary is timed apart.
    """
    from tradebot.pipeline.app import RunOptions
    from tradebot.pipeline.session import run_session

    probe = RunProbe()
    options = (
        RunOptions(mode="replay", feeds=data, store=store, quiet=True) if isinstance(data, tuple)
        else RunOptions(mode="replay", data=data, store=store, quiet=True)
    )
    with contextlib.ExitStack() as stack:
        stack.enter_context(capture_stats(probe))
        if mode in ("off", "encode_only"):
            stack.enter_context(store_off(probe, encode=mode == "encode_only"))
        else:
            stack.enter_context(time_summary(probe))
        start = time.perf_counter()
        anyio.run(run_session, settings, options)
        elapsed = time.perf_counter() - start
    if probe.stats is None:
        raise RuntimeError("the replay ended without running the decision engine")
    return elapsed - probe.summary_s, probe
