"""The log: flat JSON lines, rotation and retention by loguru, owner-only files, a coloured terminal, and
one readable line per alert."""

from __future__ import annotations

import io
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from loguru import logger
from pydantic import ValidationError

from tradebot.ops.alerts import Alert, AlertDispatcher, Severity, log_sink
from tradebot.ops.config import LogConfig
from tradebot.ops.logging import setup_logging

T0 = datetime(2026, 3, 2, 14, 2, tzinfo=UTC)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_each_line_is_one_flat_json_object(tmp_path: Path) -> None:
    handle = setup_logging(log_dir=tmp_path, console=False)
    try:
        logger.bind(code="NET_RETRY", dependency="data_primary", details={"attempt": 2}).warning("retrying")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.bind(code="GATE_FAILURE").exception("gate raised")
    finally:
        handle.close()
    first, second = (json.loads(line) for line in (tmp_path / "tradebot.jsonl").read_text().splitlines())
    assert first["level"] == "WARNING" and first["message"] == "retrying"
    assert first["code"] == "NET_RETRY" and first["dependency"] == "data_primary"
    assert first["details"] == {"attempt": 2}  # an object, not JSON text inside JSON
    assert datetime.fromisoformat(first["time"]).utcoffset() is not None
    assert {"logger", "function", "line", "process"} <= set(first)
    assert "record" not in first and "text" not in first  # not loguru's serialize envelope
    assert "RuntimeError: boom" in second["exception"] and second["code"] == "GATE_FAILURE"


def test_rotation_and_retention_by_loguru_keep_files_owner_only(tmp_path: Path) -> None:
    handle = setup_logging(log_dir=tmp_path, console=False, rotation="2 KB", retention=2)
    try:
        for i in range(200):
            logger.info("line {i} {pad}", i=i, pad="x" * 40)
    finally:
        handle.close()
    files = sorted(tmp_path.glob("tradebot*.jsonl"))
    assert 2 <= len(files) <= 3  # the current file and at most 2 rotated ones
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        assert all(json.loads(line)["level"] == "INFO" for line in file.read_text().splitlines())


def test_an_existing_log_file_is_made_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "tradebot.jsonl"
    path.write_text("")
    path.chmod(0o644)
    setup_logging(log_dir=tmp_path, console=False).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_console_is_coloured_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        handle = setup_logging(stream=stream)
        logger.warning("hello")
        handle.close()
    assert "\x1b[" in terminal.getvalue() and "hello" in terminal.getvalue()
    assert "\x1b[" not in pipe.getvalue() and "hello" in pipe.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = Terminal()
    handle = setup_logging(stream=plain)
    logger.warning("hello")
    handle.close()
    assert "\x1b[" not in plain.getvalue()


def test_an_alert_is_one_label_and_a_sentence_on_the_console() -> None:
    console = io.StringIO()
    handle = setup_logging(stream=console)
    details = {"halt_code": "DAILY_LOSS_CAP_BLOCK", "symbol": "MES", "pnl_today": "-512.4", "cap": "500"}
    AlertDispatcher([log_sink]).emit(Alert("ALERT_HALT", Severity.CRITICAL, details, T0))
    handle.close()
    line = console.getvalue().strip()
    assert line.endswith(
        "CRITICAL [ALERT_HALT] HALTED: daily loss cap reached on MES (-512.40 USD of -500.00 cap) "
        "at 2026-03-02 14:02 UTC"
    )
    assert line.count("ALERT_HALT") == 1


def test_bad_rotation_or_retention_is_refused_naming_the_key() -> None:
    with pytest.raises(ValidationError) as info:
        LogConfig.model_validate({"rotation": "banana", "retention": "3 fortnights ago"})
    assert {e["loc"][0] for e in info.value.errors()} == {"rotation", "retention"}
    assert LogConfig.model_validate({"rotation": "00:00", "retention": "14 days"}).rotation == "00:00"
