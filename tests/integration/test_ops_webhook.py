"""The alert webhook sink against a local aiohttp server on 127.0.0.1: delivered, failures only logged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from tradebot.ops.alerts import Alert, AlertDispatcher, Severity, WebhookSink

pytestmark = pytest.mark.timeout(30)
T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        self.port = 0


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()

    async def hook(request: web.Request) -> web.Response:
        assert request.content_type == "application/json"
        rec.bodies.append(await request.json())
        return web.Response(status=rec.status)

    app = web.Application()
    app.router.add_post("/hook/{token}", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    rec.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    yield rec
    await runner.cleanup()


async def _wait_for(predicate: Any, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)


async def test_alert_is_posted_as_json_without_blocking_the_loop(receiver: Receiver) -> None:
    sink = WebhookSink(f"http://127.0.0.1:{receiver.port}/hook/T0K3N-abc", timeout_s=2.0)
    alert = Alert("ALERT_BREAKER_OPEN", Severity.CRITICAL, {"dependency": "broker_submit"}, T0)
    AlertDispatcher([sink]).emit(alert)  # returns at once: the POST happens on the worker thread
    await _wait_for(lambda: sink.sent == 1)
    assert receiver.bodies == [
        {
            "code": "ALERT_BREAKER_OPEN",
            "severity": "CRITICAL",
            "ts": T0.isoformat(),
            "details": {"dependency": "broker_submit"},
        }
    ]
    await asyncio.to_thread(sink.close)


async def test_failures_are_counted_and_logged_never_raised(receiver: Receiver) -> None:
    receiver.status = 500
    sink = WebhookSink(f"http://127.0.0.1:{receiver.port}/hook/x", timeout_s=2.0)
    sink(Alert("ALERT_HALT", Severity.CRITICAL, {"halt_code": "AUTH_HALT"}, T0))
    await _wait_for(lambda: sink.failed == 1)
    assert sink.failed == 1 and sink.sent == 0 and len(receiver.bodies) == 1
    await asyncio.to_thread(sink.close)
    dead = WebhookSink("http://127.0.0.1:9/hook/x", timeout_s=1.0)  # nothing listens on the discard port
    dead(Alert("ALERT_HALT", Severity.CRITICAL, {}, T0))
    await _wait_for(lambda: dead.failed == 1)
    assert dead.failed == 1
    await asyncio.to_thread(dead.close)


def test_alert_body_is_valid_json() -> None:
    body = Alert("ALERT_STALE_DATA", Severity.WARNING, {"age_s": 181.0}, T0).to_dict()
    assert json.loads(json.dumps(body))["details"] == {"age_s": 181.0}
