"""SIGTERM/SIGINT as a stop request: a checkpoint stops startup, a wait is cut short, a running pipeline is
told on its event loop, and the process is never killed half-way (the handler only records)."""

from __future__ import annotations

import os
import signal
import time

import anyio
import pytest

from tradebot.pipeline.stop import RunInterrupted, StopRequest


def test_a_signal_is_recorded_not_fatal_and_the_next_checkpoint_stops_startup() -> None:
    stop = StopRequest()
    stop.install()
    try:
        stop.checkpoint("first step", {"state": "ACTIVE"})  # nothing asked yet
        os.kill(os.getpid(), signal.SIGTERM)  # without the handler this would end the test process
        assert stop.signal_name == "SIGTERM"
        with pytest.raises(RunInterrupted) as raised:
            stop.checkpoint("second step")
        assert str(raised.value) == "stopped by SIGTERM during startup (second step)"
        assert stop.state_at_start == {"state": "ACTIVE"}
    finally:
        stop.restore()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


async def test_a_stop_cuts_a_startup_wait_short() -> None:
    stop = StopRequest()
    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        tg.start_soon(_request_soon, stop)
        with pytest.raises(RunInterrupted) as raised, stop.cancelling("waiting for the session to open"):
            await anyio.sleep(30)
    assert raised.value.step == "waiting for the session to open"
    assert time.monotonic() - started < 5


async def test_subscribers_are_told_on_the_loop_and_at_once_when_already_asked() -> None:
    stop = StopRequest()
    told: list[str] = []
    with stop.subscribe(lambda: told.append("first")):
        stop.request("SIGINT")
        await anyio.sleep(0.01)
    assert told == ["first"]
    with stop.subscribe(lambda: told.append("late")):
        pass
    assert told == ["first", "late"]
    assert stop.signal_name == "SIGINT"


async def _request_soon(stop: StopRequest) -> None:
    await anyio.sleep(0.05)
    stop.request("SIGTERM")
