"""A streaming CSV bar feed: ``ts,open,high,low,close,volume``, ``ts`` ISO-8601 UTC (``Z`` or ``+00:00``).

``CsvBarFeed(path, symbol="MES", interval_s=60)`` checks the header at once: a missing column raises
``FeedError`` (code BAR_MISSING_COLUMN, line 1, naming the column) because the whole file is unusable.
Columns may come in any order; extra columns are ignored. Iterating the feed reads one line at a time and
yields, per data line, either ``(line_no, Bar)`` or a ``FeedRejection(line, code, detail)`` for a line it
cannot parse (BAR_MALFORMED: wrong field count, a bad number, a bad or non-UTC timestamp, bytes that are
not UTF-8). Blank lines are skipped. A header that is not UTF-8 text (or a binary file) and a path that
cannot be read as a file raise ``FeedError``.
The feed does not judge bar values: NaN, negative prices and timestamp order are the business of
``tradebot.ingest.validation.BarValidator``. Line numbers are 1-based file lines (the header is line 1).

``async for item in feed.aiter()`` yields the same items with a checkpoint every ``checkpoint_every`` lines,
so a large file does not starve the event loop.

Daily files name their first column ``ts_local``: the exchange-local trading date, no time of day. Such a
file needs ``session_close`` (the instrument calendar's close of a trading date, None when it has no
session); each bar then ends at that day's close (``interval_s`` is a day, ``ts`` the close less a day) and a
date with no session is refused (BAR_MALFORMED). ``is_daily(path)`` tells a daily file by its header.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import anyio.lowlevel

from tradebot.domain import reasons
from tradebot.domain.bars import Bar

COLUMNS = ("ts", "open", "high", "low", "close", "volume")
DAILY_TS = "ts_local"  # a daily file's date column, in place of ``ts``
DAY_S = 86_400
SessionClose = Callable[[date], datetime | None]
_ENCODING = "utf-8-sig"  # tolerate a byte-order mark before the header
# bytes that are not UTF-8 are read as lone surrogates, so one bad line is refused, not the whole file
_ERRORS = "surrogateescape"
_MAX_HEADER = 65_536  # characters: a longer first line is not a CSV header


class FeedError(ValueError):
    """The file as a whole cannot be used (no header, missing column, unreadable)."""

    def __init__(self, code: str, line: int, message: str) -> None:
        super().__init__(f"line {line}: {code}: {message}")
        self.code = code
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class FeedRejection:
    """A data line the feed could not turn into a bar."""

    line: int
    code: str
    detail: str


FeedItem = tuple[int, Bar] | FeedRejection


class CsvBarFeed:
    def __init__(
        self,
        path: Path | str,
        *,
        symbol: str,
        interval_s: int = 60,
        session_close: SessionClose | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        if not symbol:
            raise ValueError("a CSV bar feed needs a symbol")
        self.path = Path(path)
        self.symbol = symbol
        self.interval_s = interval_s
        try:
            with self.path.open(encoding=_ENCODING, errors=_ERRORS, newline="") as f:
                header = f.readline(_MAX_HEADER)
        except OSError as exc:
            raise FeedError(
                reasons.BAR_FILE_UNREADABLE, 1, f"{self.path}: cannot read it ({exc.strerror or exc})"
            ) from None
        bad = _not_utf8(header)
        if bad is None and len(header) == _MAX_HEADER:
            bad = f"no line end in its first {_MAX_HEADER} characters"
        if bad is not None:
            raise FeedError(
                reasons.BAR_MALFORMED, 1,
                f"{self.path}: the header is not CSV text ({bad}); is this a CSV bar file "
                f"({','.join(COLUMNS)})?",
            )
        self._width, self._index, self.daily = _parse_header(header, self.path)
        if self.daily:
            if session_close is None:
                raise FeedError(
                    reasons.BAR_MISSING_COLUMN, 1,
                    f"{self.path}: a daily file ({DAILY_TS}) needs the instrument's calendar to place "
                    "its bars",
                )
            self.interval_s = DAY_S
        self._session_close = session_close

    def __iter__(self) -> Generator[FeedItem, None, None]:
        symbol, interval, width = self.symbol, self.interval_s, self._width
        extra_columns = width > len(COLUMNS)
        i_ts, i_o, i_h, i_l, i_c, i_v = self._index
        fromiso = self._daily_ts if self.daily else datetime.fromisoformat
        with self.path.open(encoding=_ENCODING, errors=_ERRORS, newline="") as f:
            f.readline()
            rows = csv.reader(f)  # quoting as the csv module reads it; line_num counts lines after the header
            while True:
                try:
                    for fields in rows:
                        line_no = rows.line_num + 1
                        if len(fields) != width:
                            if not fields or (len(fields) == 1 and not fields[0].strip()):
                                continue  # a blank line
                            yield _wrong_width(line_no, fields, width)
                            continue
                        try:
                            ts = fromiso(fields[i_ts])
                        except _NoSession as exc:
                            yield FeedRejection(line_no, reasons.BAR_MALFORMED, str(exc))
                            continue
                        except ValueError:
                            yield _diagnose(line_no, fields, self._index, self.daily)
                            continue
                        try:
                            bar = Bar(
                                symbol, ts, float(fields[i_o]), float(fields[i_h]), float(fields[i_l]),
                                float(fields[i_c]), float(fields[i_v]), interval,
                            )
                        except ValueError:
                            yield _diagnose(line_no, fields, self._index, self.daily)
                            continue
                        if ts.tzinfo is not UTC:
                            yield FeedRejection(
                                line_no, reasons.BAR_MALFORMED,
                                f"ts: {fields[i_ts]!r} is not UTC (use Z or +00:00)",
                            )
                            continue
                        if extra_columns and not "".join(fields).isascii():
                            bad = _not_utf8(",".join(fields))  # in a column the feed otherwise ignores
                            if bad is not None:
                                yield FeedRejection(line_no, reasons.BAR_MALFORMED, f"not UTF-8 text ({bad})")
                                continue
                        yield line_no, bar
                    return
                except csv.Error as exc:  # e.g. a field over the csv module's size limit, a bare CR
                    yield FeedRejection(rows.line_num + 1, reasons.BAR_MALFORMED, f"not a CSV line ({exc})")

    def _daily_ts(self, text: str) -> datetime:
        """The start of the daily bar of trading date ``text``: its session's close less a day."""
        day = date.fromisoformat(text)
        assert self._session_close is not None
        close = self._session_close(day)
        if close is None:
            raise _NoSession(
                f"{DAILY_TS}: no trading session on {day.isoformat()} in the instrument's calendar"
            )
        return close.astimezone(UTC) - timedelta(seconds=DAY_S)

    async def aiter(self, checkpoint_every: int = 1_000) -> AsyncIterator[FeedItem]:
        if checkpoint_every <= 0:
            raise ValueError(f"checkpoint_every must be positive, got {checkpoint_every}")
        countdown = checkpoint_every
        for item in self:
            countdown -= 1
            if countdown == 0:  # every checkpoint_every-th item
                countdown = checkpoint_every
                await anyio.lowlevel.checkpoint()
            yield item


def _not_utf8(text: str) -> str | None:
    """Where ``text`` (read with surrogateescape) holds a byte that is not UTF-8, or None if it holds none."""
    for column, char in enumerate(text, start=1):
        if "\udc80" <= char <= "\udcff":
            return f"byte 0x{ord(char) - 0xDC00:02x} at column {column}"
    return None


class _NoSession(ValueError):
    """A daily row whose date has no session in the instrument's calendar."""


def is_daily(path: Path | str) -> bool:
    """True for a daily file: its header names ``ts_local`` and not ``ts``."""
    try:
        with Path(path).open(encoding=_ENCODING, errors=_ERRORS, newline="") as f:
            header = f.readline(_MAX_HEADER)
    except OSError:
        return False
    names = [name.strip().lower() for name in next(csv.reader([header.rstrip("\r\n")]), [])]
    return DAILY_TS in names and "ts" not in names


def _parse_header(header: str, path: Path) -> tuple[int, tuple[int, int, int, int, int, int], bool]:
    names = [name.strip().lower() for name in next(csv.reader([header.rstrip("\r\n")]), [])]
    if not header.strip():
        raise FeedError(reasons.BAR_MISSING_COLUMN, 1, f"{path}: no header line (need {','.join(COLUMNS)})")
    daily = DAILY_TS in names and "ts" not in names
    if daily:
        names[names.index(DAILY_TS)] = "ts"
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise FeedError(
            reasons.BAR_MISSING_COLUMN, 1,
            f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(header has {', '.join(names)})",
        )
    i_ts, i_o, i_h, i_l, i_c, i_v = (names.index(column) for column in COLUMNS)
    return len(names), (i_ts, i_o, i_h, i_l, i_c, i_v), daily


def _wrong_width(line_no: int, fields: list[str], width: int) -> FeedRejection:
    bad = _not_utf8(",".join(fields))
    detail = f"not UTF-8 text ({bad})" if bad is not None else f"expected {width} fields, got {len(fields)}"
    return FeedRejection(line_no, reasons.BAR_MALFORMED, detail)


def _diagnose(line_no: int, fields: list[str], index: tuple[int, ...], daily: bool = False) -> FeedRejection:
    """The slow path: name the first field that does not parse (or the byte that is not UTF-8)."""
    bad = _not_utf8(",".join(fields))
    if bad is not None:
        return FeedRejection(line_no, reasons.BAR_MALFORMED, f"not UTF-8 text ({bad})")
    for column, i in zip(COLUMNS, index, strict=True):
        text = fields[i]
        try:
            if column == "ts":
                date.fromisoformat(text) if daily else datetime.fromisoformat(text)
            else:
                float(text)
        except ValueError:
            kind = "a number"
            if column == "ts":
                kind = "a date (YYYY-MM-DD)" if daily else "an ISO-8601 timestamp"
            name = DAILY_TS if daily and column == "ts" else column
            return FeedRejection(line_no, reasons.BAR_MALFORMED, f"{name}: {text!r} is not {kind}")
    return FeedRejection(line_no, reasons.BAR_MALFORMED, "unparsable line")


def infer_interval_s(path: Path | str, sample: int = 200) -> int:
    """The bar interval of a file: the smallest positive step between the first ``sample`` timestamps."""
    previous: datetime | None = None
    best: float | None = None
    seen = 0
    with contextlib.closing(iter(CsvBarFeed(path, symbol="?"))) as items:
        for item in items:
            if isinstance(item, FeedRejection):
                continue
            ts = item[1].ts
            if previous is not None and ts > previous:
                step = (ts - previous).total_seconds()
                best = step if best is None else min(best, step)
            previous = ts
            seen += 1
            if seen >= sample:
                break
    if best is None or best != int(best):
        raise FeedError(reasons.BAR_MALFORMED, 1, f"{path}: cannot infer the bar interval from timestamps")
    return int(best)
