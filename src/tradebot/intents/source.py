"""External intent sources: anything that yields parsed intents or refusals into the same gates.

The hook is the ``IntentSource`` protocol: an async iterable of ``ParsedIntent | IntentRefusal``. To add a
source (a socket, a message queue), implement ``__aiter__`` and parse each message with
``parse_intent_detailed`` so validation is identical everywhere; yield an ``IntentRefusal`` for a message that
fails (never skip it silently) and let the pipeline record both. ``JsonlIntentSource`` is the built-in one:
one JSON object per line, from a file or from stdin (path ``-``).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from decimal import DecimalException
from pathlib import Path
from typing import Protocol

import anyio
import orjson

from tradebot.domain import reasons
from tradebot.domain.clock import Clock
from tradebot.domain.instruments import Instrument
from tradebot.intents.parse import IntentValidationError, ParsedIntent, parse_intent_detailed

MAX_RAW = 500  # characters of a refused line kept in the refusal


@dataclass(frozen=True, slots=True)
class IntentRefusal:
    """A line that is not a valid intent: where, which field, why. ``code`` is INTENT_INVALID."""

    line: int
    field: str
    message: str
    raw: str = ""
    code: str = reasons.INTENT_INVALID


class IntentSource(Protocol):
    def __aiter__(self) -> AsyncIterator[ParsedIntent | IntentRefusal]: ...


class JsonlIntentSource:
    """Intents as JSON lines from ``path`` (``-`` or None: stdin). Blank lines and ``#`` comments are skipped.

    A second intent with an ``intent_id`` already seen from this source is refused (field ``intent_id``).
    """

    def __init__(
        self,
        path: Path | str | None,
        instruments: Mapping[str, Instrument],
        clock: Clock,
        *,
        max_skew_s: float = 5.0,
        max_age_s: float | None = None,
    ) -> None:
        self.path = None if path in (None, "-") else Path(path)
        self.instruments = instruments
        self.clock = clock
        self.max_skew_s = max_skew_s
        self.max_age_s = max_age_s
        self._seen: dict[str, int] = {}

    def __aiter__(self) -> AsyncIterator[ParsedIntent | IntentRefusal]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[ParsedIntent | IntentRefusal]:
        # read bytes and decode line by line: a line that is not UTF-8 is refused, not the whole source
        if self.path is None:
            stdin = sys.stdin
            stream: anyio.AsyncFile[bytes] | anyio.AsyncFile[str] = (
                anyio.wrap_file(stdin.buffer) if hasattr(stdin, "buffer") else anyio.wrap_file(stdin)
            )
            async for item in self._read(stream):
                yield item
        else:
            async with await anyio.open_file(self.path, "rb") as stream:
                async for item in self._read(stream):
                    yield item

    async def _read(
        self, stream: anyio.AsyncFile[bytes] | anyio.AsyncFile[str]
    ) -> AsyncIterator[ParsedIntent | IntentRefusal]:
        number = 0
        async for data in stream:
            number += 1
            text = data if isinstance(data, str) else _decoded(data)
            if isinstance(text, tuple):
                where, raw = text
                yield IntentRefusal(number, "<encoding>", f"not UTF-8 text ({where})", raw)
                continue
            stripped = text.removeprefix("\ufeff").strip() if number == 1 else text.strip()
            if not stripped or stripped.startswith("#"):
                continue
            yield self.parse_line(number, stripped)

    def parse_line(self, number: int, text: str) -> ParsedIntent | IntentRefusal:
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return IntentRefusal(number, "<json>", f"not valid JSON: {exc}", text[:MAX_RAW])
        try:
            parsed = parse_intent_detailed(
                obj, self.instruments, self.clock.now(),
                max_skew_s=self.max_skew_s, max_age_s=self.max_age_s, line=number,
            )
        except IntentValidationError as exc:
            return IntentRefusal(number, exc.field, exc.message, text[:MAX_RAW])
        except DecimalException as exc:  # exact arithmetic out of range: the line is refused, not the run
            return IntentRefusal(number, "<number>", f"a number is out of range ({exc!r})", text[:MAX_RAW])
        first = self._seen.get(parsed.intent.intent_id)
        if first is not None:
            return IntentRefusal(number, "intent_id", f"duplicate of line {first}", text[:MAX_RAW])
        self._seen[parsed.intent.intent_id] = number
        return parsed


def _decoded(data: bytes) -> str | tuple[str, str]:
    """The line as text, or (where the first byte that is not UTF-8 is, the line with it replaced)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raw = data.decode("utf-8", errors="replace").strip()[:MAX_RAW]
        return f"byte 0x{data[exc.start]:02x} at column {exc.start + 1}", raw
