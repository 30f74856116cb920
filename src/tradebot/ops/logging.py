"""Logging: loguru with a human console sink and a JSON-lines file sink, secrets scrubbed from both.

Reason codes travel in ``extra``: ``logger.bind(code="NET_RETRY", dependency="data_primary").warning(...)``
or ``log_reason("NET_RETRY", "...", dependency=...)``. The console shows ``[CODE]`` before the message;
the JSON sink (loguru ``serialize``) carries every ``extra`` key. Both sinks scrub registered secret
values from the final text (tracebacks included) and ``diagnose`` is off (it would print local values).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from loguru import logger

from tradebot.ops.secrets import scrub_log_record, scrub_text

JSON_LOG_NAME = "tradebot.jsonl"


class _ScrubbingWriter:
    """A loguru sink writing scrubbed text to a stream or an append-only file (0600)."""

    def __init__(self, stream: IO[str], *, owned: bool = False) -> None:
        self._stream = stream
        self._owned = owned
        self._lock = threading.Lock()

    def write(self, message: str) -> None:
        text = scrub_text(str(message))
        with self._lock:
            self._stream.write(text)
            self._stream.flush()

    def close(self) -> None:
        with self._lock:
            if self._owned:
                self._stream.close()


def _console_format(record: Any) -> str:
    code = record["extra"].get("code")
    tag = "[{extra[code]}] " if code else ""
    return "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <8}</level> " + tag + "{message}\n{exception}"


@dataclass(slots=True)
class LoggingHandle:
    sink_ids: list[int] = field(default_factory=list)
    writers: list[_ScrubbingWriter] = field(default_factory=list)
    json_path: Path | None = None

    def close(self) -> None:
        for sink_id in self.sink_ids:
            logger.remove(sink_id)
        for writer in self.writers:
            writer.close()
        self.sink_ids.clear()
        self.writers.clear()


def setup_logging(
    *,
    log_dir: Path | None = None,
    console: bool = True,
    console_level: str = "INFO",
    file_level: str = "DEBUG",
    stream: IO[str] | None = None,
    json_name: str = JSON_LOG_NAME,
) -> LoggingHandle:
    """Replace loguru's handlers with ours and install the secret scrubber. Returns a handle to close."""
    logger.remove()
    logger.configure(patcher=scrub_log_record)
    handle = LoggingHandle()
    if console:
        writer = _ScrubbingWriter(stream or sys.stderr)
        handle.writers.append(writer)
        handle.sink_ids.append(
            logger.add(
                writer.write,
                level=console_level,
                format=_console_format,
                colorize=False,
                backtrace=False,
                diagnose=False,
            )
        )
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / json_name
        path.touch(mode=0o600, exist_ok=True)
        file_writer = _ScrubbingWriter(path.open("a", encoding="utf-8"), owned=True)
        handle.writers.append(file_writer)
        handle.sink_ids.append(
            logger.add(file_writer.write, level=file_level, serialize=True, backtrace=False, diagnose=False)
        )
        handle.json_path = path
    return handle


def log_reason(code: str, message: str, *, level: str = "INFO", **details: Any) -> None:
    """Log ``message`` with the reason ``code`` and ``details`` in ``extra``."""
    logger.bind(code=code, **details).opt(depth=1).log(level, message)
