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
    assert [r["code"] for r in records] == ["AUTH_HALT", "X", "AUTH_HALT", "ALERT_HALT"]
    assert "Traceback" in records[2]["exception"] and "AuthFailed" in records[2]["exception"]
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


BINANCE_KEY, BINANCE_SECRET = "bnc-KEY-5f4e3d2c1b0a9988", "bnc-SECRET-77665544332211"
ALPACA_KEY, ALPACA_SECRET = "PKALPACA0123456789AB", "alpaca-SECRET-0123456789abcdef"
BROKER_SECRETS = (BINANCE_KEY, BINANCE_SECRET, ALPACA_KEY, ALPACA_SECRET)


def test_broker_keys_are_loaded_through_ops_secrets_and_scrubbed(tmp_path: Path) -> None:
    """The plugins' own config loaders register the keys they read, so a key that reaches a log line, an
    exception or a manifest is replaced there like any other secret."""
    from tradebot_alpaca.config import load_config as load_alpaca
    from tradebot_binance.config import load_config as load_binance

    env = {
        "BINANCE_API_KEY": f" {BINANCE_KEY}\n",  # read as tradebot reads any secret: stripped
        "BINANCE_API_SECRET": BINANCE_SECRET,
        "APCA_API_KEY_ID": ALPACA_KEY,
        "APCA_API_SECRET_KEY": ALPACA_SECRET,
    }
    binance = load_binance({"environment": "testnet"}, environ=env)
    alpaca, creds = load_alpaca({}, environ=env)
    assert binance.api_key is not None and binance.api_key.get_secret_value() == BINANCE_KEY
    assert creds.secret_key.get_secret_value() == ALPACA_SECRET
    assert set(BROKER_SECRETS) <= set(secrets.REGISTRY.values())

    run_dir = tmp_path / "run"
    console = io.StringIO()
    handle = setup_logging(log_dir=run_dir, stream=console, console_level="DEBUG")
    try:  # what a client library may echo: a header, a signed query, an error text
        logger.bind(code="NET_RETRY").warning("X-MBX-APIKEY: {} APCA-API-KEY-ID: {}", BINANCE_KEY, ALPACA_KEY)
        try:
            raise AuthFailed(f"signature for secret {BINANCE_SECRET} / {ALPACA_SECRET} rejected")
        except AuthFailed as exc:
            error = classify_exception(exc)
            logger.bind(code=error.code, details=dict(error.details)).exception("broker auth failed")
        manifest = build_manifest(
            "live", {"broker": {"binance": binance, "alpaca": alpaca}}, {}, [], {}, "", now=NOW, modules=[]
        )
        write_manifest(run_dir, manifest)
    finally:
        handle.close()
    texts = {str(p): p.read_text(errors="replace") for p in run_dir.rglob("*") if p.is_file()}
    texts["console"] = console.getvalue()
    assert len(texts) >= 3
    for where, text in texts.items():
        for value in BROKER_SECRETS:
            assert value not in text, f"{value} leaked into {where}"


def test_a_session_run_with_broker_keys_set_leaks_them_nowhere(tmp_path: Path) -> None:
    """The real command with every broker key in its environment: a whole ``--session rth`` run (store,
    log, manifest, reports) and ``config check --mode live``, which builds the broker with them."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    sample = repo / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"
    header, *rows = sample.read_text().splitlines()
    data = tmp_path / "monday.csv"
    data.write_text("\n".join([header, *(r for r in rows if r.startswith(("2013-10-07T1", "2013-10-07T2")))]))
    config = tmp_path / "tradebot.toml"
    shipped = (repo / "config" / "tradebot.toml").read_text()
    assert '\nname = "sim"' in shipped
    config.write_text(
        shipped.replace('\nname = "sim"', '\nname = "binance"', 1).replace(
            '"config/constitution.yaml"', f'"{repo / "config" / "constitution.yaml"}"'
        )
        + '\n[broker.binance]\nenvironment = "testnet"\n'
    )
    run_dir, store = tmp_path / "run", tmp_path / "stores" / "session.db"
    env = {
        **os.environ,
        "TRADEBOT_RUN__RUN_DIR": str(run_dir),
        "BINANCE_API_KEY": BINANCE_KEY,
        "BINANCE_API_SECRET": BINANCE_SECRET,
        "APCA_API_KEY_ID": ALPACA_KEY,
        "APCA_API_SECRET_KEY": ALPACA_SECRET,
    }

    def tradebot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tradebot.cli", *args, "--config", str(config)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
        )  # fmt: skip

    session = tradebot("run", "--data", str(data), "--store", str(store), "--session", "rth")
    check = tradebot("config", "check", "--mode", "live")
    assert session.returncode == 0, session.stderr[-3000:]
    assert check.returncode == 0 and "config ok" in check.stdout, check.stderr[-3000:]

    files = [p for p in [*run_dir.rglob("*"), *store.parent.rglob("*")] if p.is_file()]
    kinds = {p.name for p in files}
    assert {"tradebot.jsonl", "manifest.json", "session.db", "summary.json", "execution.csv"} <= kinds
    outputs = {"run": session.stdout + session.stderr, "check": check.stdout + check.stderr}
    outputs |= {str(p): p.read_bytes().decode(errors="replace") for p in files}
    for where, text in outputs.items():
        for value in BROKER_SECRETS:
            assert value not in text, f"{value} leaked into {where}"
