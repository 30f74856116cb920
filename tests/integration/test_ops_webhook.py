"""Notifications through apprise against a local HTTP endpoint on 127.0.0.1 (apprise's json:// URL):
the alert arrives as readable text, without blocking the caller; one per code within the rate limit; a
failing or dead endpoint is counted and logged, never raised; tokens from the environment stay secret."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from loguru import logger
from pydantic import SecretStr, ValidationError

from tradebot.ops.alerts import Alert, AlertDispatcher, Severity
from tradebot.ops.config import OpsConfig
from tradebot.ops.logging import setup_logging
from tradebot.ops.notify import Notifier, notifier_urls

pytestmark = pytest.mark.timeout(30)
T0 = datetime(2026, 3, 2, 14, 2, tzinfo=UTC)
TOKEN = "tok-7f3a9c2e51"


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.status = 200
        self.delay_s = 0.0
        self.port = 0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            time.sleep(rec.delay_s)
            rec.requests.append((self.path, body))
            self.send_response(rec.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)


def daily_loss_halt(ts: datetime = T0) -> Alert:
    details = {
        "halt_code": "DAILY_LOSS_CAP_BLOCK",
        "symbol": "MES",
        "session_day": "2026-03-02",
        "pnl_today": "-512.4",
        "cap": "500",
    }
    return Alert("ALERT_HALT", Severity.CRITICAL, details, ts)


def stale(ts: datetime) -> Alert:
    details = {"symbol": "MES", "late_s": 300.0, "last_bar_at": (ts - timedelta(minutes=6)).isoformat()}
    return Alert("ALERT_STALE_DATA", Severity.WARNING, details, ts)


def test_an_alert_arrives_as_readable_text_without_blocking(receiver: Receiver) -> None:
    receiver.delay_s = 1.0  # a slow service: the pipeline must not wait for it
    urls = notifier_urls(
        [SecretStr(f"json://127.0.0.1:{receiver.port}/hook?-token=${{HOOK_TOKEN}}")],
        environ={"HOOK_TOKEN": TOKEN},
    )
    notifier = Notifier(urls)
    started = time.monotonic()
    AlertDispatcher([notifier]).emit(daily_loss_halt())
    assert time.monotonic() - started < 0.5
    wait_for(lambda: notifier.sent == 1)
    notifier.close()
    assert notifier.sent == 1 and notifier.failed == 0
    [(path, body)] = receiver.requests
    assert path == f"/hook?token={TOKEN}"  # the token came from the environment
    assert body["title"] == (
        "HALTED: daily loss cap reached on MES (-512.40 USD of -500.00 cap) at 2026-03-02 14:02 UTC"
    )
    assert body["type"] == "failure"
    lines = body["message"].splitlines()
    assert lines[0] == body["title"]
    assert "code: ALERT_HALT" in lines and "pnl_today: -512.4" in lines and "cap: 500" in lines


def test_one_notification_per_code_within_the_rate_limit(receiver: Receiver) -> None:
    notifier = Notifier([f"json://127.0.0.1:{receiver.port}/hook"], rate_limit_s=300)
    notifier(stale(T0))
    notifier(stale(T0 + timedelta(seconds=60)))  # held back: same code within 300 s
    notifier(stale(T0 + timedelta(seconds=120)))  # held back
    notifier(daily_loss_halt(T0 + timedelta(seconds=130)))  # another code: sent
    notifier(stale(T0 + timedelta(seconds=301)))  # the window has passed: sent, counting the held ones
    notifier.close()
    assert (notifier.sent, notifier.suppressed, notifier.failed) == (3, 2, 0)
    titles = [body["title"] for _, body in receiver.requests]
    assert [t.split(":")[0] for t in titles] == ["Stale data on MES", "HALTED", "Stale data on MES"]
    assert receiver.requests[2][1]["message"].endswith(
        "(2 more ALERT_STALE_DATA alert(s) held back since the last one)"
    )


def test_a_failing_endpoint_is_recorded_never_raised(receiver: Receiver) -> None:
    receiver.status = 500
    console = io.StringIO()
    handle = setup_logging(stream=console, console_level="DEBUG")
    outcomes: list[str] = []
    try:
        failing = Notifier([f"json://127.0.0.1:{receiver.port}/hook"], on_result=outcomes.append)
        dead = Notifier(["json://127.0.0.1:9/hook"], timeout_s=1.0, on_result=outcomes.append)
        AlertDispatcher([failing, dead]).emit(daily_loss_halt())
        failing.close()
        dead.close()
    finally:
        handle.close()
    assert (failing.failed, failing.sent, dead.failed) == (1, 0, 1)
    assert outcomes == ["failed", "failed"]
    assert len(receiver.requests) == 1
    log = console.getvalue()
    assert f"[NOTIFY_FAILED] notification to JSON (json://127.0.0.1:{receiver.port}) failed" in log
    assert "[NOTIFY_FAILED] notification to JSON (json://127.0.0.1:9) failed" in log


def test_tokens_from_the_environment_never_reach_the_log(receiver: Receiver) -> None:
    receiver.status = 500
    console = io.StringIO()
    handle = setup_logging(stream=console, console_level="TRACE")
    try:
        secret = "zz-9b8c7d6e5f4a"
        urls = notifier_urls(
            [SecretStr(f"json://127.0.0.1:{receiver.port}/h/${{TG}}")], environ={"TG": secret}
        )
        notifier = Notifier(urls)
        notifier(daily_loss_halt())
        notifier.close()
        logger.info("the url was {u}", u=urls[0])
    finally:
        handle.close()
    assert receiver.requests[0][0] == f"/h/{secret}"
    assert secret not in console.getvalue() and "**********" in console.getvalue()


def test_config_names_the_key_of_an_unusable_url() -> None:
    with pytest.raises(ValidationError) as missing:
        OpsConfig.model_validate({"alerts": {"notify_urls": ["tgram://${NO_SUCH_VAR_TB}/123"]}})
    [error] = missing.value.errors()
    assert error["loc"] == ("alerts", "notify_urls")
    assert "notify_urls[0]: environment variable $NO_SUCH_VAR_TB is not set" in error["msg"]
    with pytest.raises(ValidationError) as unknown:
        OpsConfig.model_validate({"alerts": {"notify_urls": ["json://127.0.0.1/x", "nosuch://host/x"]}})
    [error] = unknown.value.errors()
    assert "notify_urls[1]: apprise cannot use this URL (scheme 'nosuch')" in error["msg"]
    with pytest.raises(ValidationError) as webhook:
        OpsConfig.model_validate({"alerts": {"webhook_url": "file:///etc/passwd"}})
    [error] = webhook.value.errors()
    assert error["loc"] == ("alerts", "webhook_url") and "must be an http(s) URL" in error["msg"]


def test_the_older_webhook_url_still_delivers(receiver: Receiver) -> None:
    ops = OpsConfig.model_validate(
        {"alerts": {"webhook_url": f"http://127.0.0.1:{receiver.port}/hook?token=abc123"}}
    )
    urls = notifier_urls(ops.alerts.notify_urls, ops.alerts.webhook_url)
    assert urls == [f"json://127.0.0.1:{receiver.port}/hook?-token=abc123"]
    notifier = Notifier(urls)
    notifier(daily_loss_halt())
    notifier.close()
    assert receiver.requests[0][0] == "/hook?token=abc123"
    assert receiver.requests[0][1]["title"].startswith("HALTED: daily loss cap reached on MES")


def test_where_a_notification_goes_is_said_without_its_token() -> None:
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    notifier = Notifier([f"tgram://{token}/12315544", "mailtos://user:pw-9c1a@mail.example.com?to=o@x.io"])
    notifier.close()
    assert [str(t) for t in notifier.targets] == [
        "Telegram (tgram://1...w)",
        "E-Mail (mailtos://mail.example.com)",
    ]
