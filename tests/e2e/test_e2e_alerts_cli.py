"""``tradebot alerts test`` sends one notification through apprise to a local endpoint and says where."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from e2e_helpers import run_env, tradebot

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def endpoint() -> Iterator[tuple[int, list[tuple[str, dict[str, Any]]]]]:
    received: list[tuple[str, dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            received.append((self.path, body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], received
    server.shutdown()
    server.server_close()


def test_alerts_test_sends_one_notification_and_names_where(
    endpoint: tuple[int, list[tuple[str, dict[str, Any]]]],
) -> None:
    port, received = endpoint
    env = run_env()
    env["TRADEBOT_OPS__ALERTS__NOTIFY_URLS"] = json.dumps(
        [f"json://127.0.0.1:{port}/alerts?-key=${{ALERT_KEY}}", "json://127.0.0.1:9/dead"]
    )
    env["ALERT_KEY"] = "k-41c9e7b2aa"
    result = tradebot("alerts", "test", env=env)
    assert result.returncode == 6, result.stderr  # one of the two services could not be reached
    assert result.stdout.splitlines() == [
        f"sent: JSON (json://127.0.0.1:{port})",
        "FAILED: JSON (json://127.0.0.1:9)",
    ]
    [(path, body)] = received
    assert path == "/alerts?key=k-41c9e7b2aa"
    assert body["title"] == "tradebot test notification"
    assert body["message"].startswith("tradebot test notification from ")
    assert "k-41c9e7b2aa" not in result.stdout + result.stderr


def test_alerts_test_without_a_url_says_what_to_set() -> None:
    result = tradebot("alerts", "test")
    assert result.returncode == 2
    assert "no notification URL configured: set notify_urls in the [ops.alerts] table" in result.stderr
