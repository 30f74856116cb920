"""A known secret, configured from an owner-only file, appears nowhere: logs (console and JSON), tracebacks,
classified errors, alerts and the run manifest."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from loguru import logger
from pydantic import BaseModel, SecretStr

from tradebot.domain import reasons
from tradebot.ops import secrets
from tradebot.ops.alerts import Alert, AlertDispatcher, Severity, log_sink
from tradebot.ops.errors import classify_exception
from tradebot.ops.logging import setup_logging
from tradebot.ops.manifest import build_manifest, write_manifest

SECRET = "tb-live-KEY-9f8e7d6c5b4a3210"
NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    secrets.REGISTRY.clear()
    yield
    secrets.REGISTRY.clear()


class _BrokerSection(BaseModel):
    name: str = "binance"
    api_key: SecretStr
    api_key_file: str


class AuthFailed(Exception):
    status_code = 401


def test_a_known_secret_appears_nowhere(tmp_path: Path) -> None:
    key_file = tmp_path / "binance.key"
    key_file.write_text(SECRET + "\n")
    key_file.chmod(0o600)
    api_key = secrets.load_secret("binance_api_key", file=key_file)

    run_dir = tmp_path / "run"
    console = io.StringIO()
    handle = setup_logging(log_dir=run_dir, stream=console, console_level="DEBUG")
    try:
        logger.bind(code=reasons.AUTH_HALT).info("connecting with key {}", api_key.get_secret_value())
        logger.bind(code="X", header=f"X-MBX-APIKEY: {SECRET}", cfg={"k": SECRET}, s=api_key).warning("bound")
        try:
            raise AuthFailed(f"invalid api key {SECRET}")
        except AuthFailed as exc:
            error = classify_exception(exc)
            logger.bind(code=error.code, details=dict(error.details)).exception("broker auth failed")
        AlertDispatcher([log_sink]).emit(
            Alert("ALERT_HALT", Severity.CRITICAL, {"why": f"key {SECRET}"}, NOW)
        )
        config = {
            "broker": _BrokerSection(api_key=api_key, api_key_file=str(key_file)),
            "alerts": {"webhook_url": f"https://hooks.example/{SECRET}"},
        }
        manifest = build_manifest(
            "live",
            config,
            {"max_daily_loss": 500},
            [],
            {"canary": False},
            "UID12345678",
            now=NOW,
            modules=["tradebot"],
        )
        path = write_manifest(run_dir, manifest)
    finally:
        handle.close()

    assert error.code == "AUTH_HALT"
    json_log = (run_dir / "tradebot.jsonl").read_text()
    records = [json.loads(line) for line in json_log.splitlines()]
    assert [r["record"]["extra"]["code"] for r in records] == ["AUTH_HALT", "X", "AUTH_HALT", "ALERT_HALT"]
    assert "Traceback" in records[2]["text"] and "AuthFailed" in records[2]["text"]
    assert "[AUTH_HALT]" in console.getvalue()
    assert path.exists() and json.loads(path.read_text())["account_id"] == "*******5678"
    scanned = 0
    for file in tmp_path.rglob("*"):
        if file.is_file() and file != key_file:
            assert SECRET not in file.read_text(errors="replace"), f"secret leaked into {file}"
            scanned += 1
    assert scanned >= 2
    assert SECRET not in console.getvalue()
    assert secrets.REDACTED in json_log
