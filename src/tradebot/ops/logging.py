"""Logging: loguru with a human console sink and a flat JSON-lines file, secrets scrubbed from both.

Reason codes travel in ``extra``: ``logger.bind(code="NET_RETRY", dependency="data_primary").warning(...)``
or ``log_reason("NET_RETRY", "...", dependency=...)``. The console shows ``[CODE]`` before the message,
coloured when it is a terminal (``color = "auto"``; ``NO_COLOR`` turns it off). The file holds one JSON
object per line with the fields at the top level::

    {"time": "2026-03-02T14:02:00.123456+00:00", "level": "CRITICAL", "message": "HALTED: ...",
     "code": "ALERT_HALT", "details": {"halt_code": "DAILY_LOSS_CAP_BLOCK", ...},
     "logger": "tradebot.ops.alerts", "function": "log_sink", "line": 190, "process": 4242,
     "exception": "Traceback ..."}

``details`` (and every other bound value) is an object, never JSON text inside JSON. The file is rotated
and old files are deleted by loguru's own ``rotation`` and ``retention`` (e.g. ``"50 MB"``,
``"14 days"``); it and its rotated copies are owner-only (0600). Both sinks scrub registered secret values
from the final text (tracebacks included) and ``diagnose`` is off (it would print local values).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import IO, Any, Literal

import orjson
from loguru import logger

from tradebot.ops.secrets import redact, scrub_log_record, scrub_text

JSON_LOG_NAME = "tradebot.jsonl"
ColorMode = Literal["auto", "always", "never"]
_RESERVED = ("time", "level", "message", "logger", "function", "line", "process", "exception")


class _ScrubbingWriter:
    """A loguru sink writing scrubbed text to a stream."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, message: str) -> None:
        text = scrub_text(str(message))
        with self._lock:
            self._stream.write(text)
            self._stream.flush()


def _console_format(record: Any) -> str:
    code = record["extra"].get("code")
    tag = "[{extra[code]}] " if code else ""
    return "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <8}</level> " + tag + "{message}\n{exception}"


def json_line(record: Mapping[str, Any]) -> str:
    """One flat JSON object for a loguru record (secrets scrubbed, no trailing newline)."""
    body: dict[str, Any] = {
        "time": record["time"].astimezone(UTC).isoformat(),
        "level": record["level"].name,
        "message": record["message"],
    }
    for key, value in record["extra"].items():
        if key.startswith("_"):
            continue
        body[key if key not in _RESERVED else f"extra_{key}"] = redact(value, key)
    body.update(
        logger=record["name"],
        function=record["function"],
        line=record["line"],
        process=record["process"].id,
    )
    exception = record["exception"]
    if exception is not None:
        body["exception"] = "".join(
            traceback.format_exception(exception.type, exception.value, exception.traceback)
        )
    return scrub_text(orjson.dumps(body, default=str).decode())


def _json_format(record: Any) -> str:
    record["extra"]["_json"] = json_line(record)
    return "{extra[_json]}\n"


def _owner_only_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def check_rotation(rotation: str | None, retention: str | None) -> None:
    """Raise ``ValueError`` when loguru would refuse ``rotation`` or ``retention`` (nothing is written)."""
    with tempfile.TemporaryDirectory() as tmp:
        sink_id = logger.add(
            Path(tmp) / "check.log", rotation=rotation, retention=retention, delay=True, catch=False
        )
        logger.remove(sink_id)


def use_color(mode: ColorMode, stream: IO[str]) -> bool:
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@dataclass(slots=True)
class LoggingHandle:
    sink_ids: list[int] = field(default_factory=list)
    json_path: Path | None = None

    def close(self) -> None:
        for sink_id in self.sink_ids:
            logger.remove(sink_id)  # a file sink is flushed and closed by loguru
        self.sink_ids.clear()


def setup_logging(
    *,
    log_dir: Path | None = None,
    console: bool = True,
    console_level: str = "INFO",
    file_level: str = "DEBUG",
    stream: IO[str] | None = None,
    json_name: str = JSON_LOG_NAME,
    rotation: str | None = None,
    retention: str | None = None,
    color: ColorMode = "auto",
) -> LoggingHandle:
    """Replace loguru's handlers with ours and install the secret scrubber. Returns a handle to close.

    ``rotation``/``retention``: loguru's own (a size "50 MB", an age "1 day", a time "00:00"; a
    retention "14 days" or a count "10"); None: one file, kept.
    """
    logger.remove()
    logger.configure(patcher=scrub_log_record)
    handle = LoggingHandle()
    if console:
        out = stream or sys.stderr
        writer = _ScrubbingWriter(out)
        handle.sink_ids.append(
            logger.add(
                writer.write,
                level=console_level,
                format=_console_format,
                colorize=use_color(color, out),
                backtrace=False,
                diagnose=False,
            )
        )
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / json_name
        handle.sink_ids.append(
            logger.add(
                path,
                level=file_level,
                format=_json_format,
                rotation=rotation,
                retention=retention,
                encoding="utf-8",
                opener=_owner_only_opener,
                backtrace=False,
                diagnose=False,
            )
        )
        path.chmod(0o600)  # an existing file from an earlier run too
        handle.json_path = path
    return handle


def log_reason(code: str, message: str, *, level: str = "INFO", **details: Any) -> None:
    """Log ``message`` with the reason ``code`` and ``details`` in ``extra``."""
    logger.bind(code=code, **details).opt(depth=1).log(level, message)
