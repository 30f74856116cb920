"""A research bar file: its bars, parsed exactly as a replay parses them, beside the raw lines they came from.

A fold's window is written out as the file's own lines (header and rows, byte for byte), so the replay of a
window reads what a replay of the whole file would have read there. A file with a line a replay would refuse
is refused here, naming its line: research never runs on a silently thinned series.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tradebot.domain.bars import Bar
from tradebot.domain.calendars import Calendars
from tradebot.domain.instruments import Instrument
from tradebot.feeds.csv_bars import CsvBarFeed, FeedError, FeedRejection
from tradebot.pipeline.data_feeds import session_close


class SeriesError(ValueError):
    """A research bar file that cannot be used (unreadable, a refused line, too short)."""


@dataclass(frozen=True, slots=True)
class BarSeries:
    symbol: str
    name: str  # the file's name (recorded in outputs and manifests; never a path)
    header: str
    rows: tuple[str, ...]  # the raw line of each bar, in order
    bars: tuple[Bar, ...]
    sha256: str  # of the file's bytes

    def __len__(self) -> int:
        return len(self.bars)

    def write_window(self, path: Path, start: int, end: int) -> Path:
        """Write bars ``[start, end)`` as a bar file of the same format."""
        if not 0 <= start < end <= len(self.bars):
            raise ValueError(f"window [{start}, {end}) is outside the {len(self.bars)} bars of {self.name}")
        path.write_text("\n".join((self.header, *self.rows[start:end])) + "\n", encoding="utf-8")
        return path


def load_series(
    symbol: str, path: Path, instrument: Instrument, calendars: Calendars, *, name: str | None = None
) -> BarSeries:
    """Read ``path`` as a replay of it as ``symbol`` would; any line the replay would refuse is an error."""
    try:
        feed = CsvBarFeed(path, symbol=symbol, session_close=session_close(instrument, calendars))
    except FeedError as exc:
        raise SeriesError(f"{symbol}={path}: {exc}") from None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SeriesError(f"{symbol}={path}: cannot read it ({exc})") from None
    bars: list[Bar] = []
    rows: list[str] = []
    for item in feed:
        if isinstance(item, FeedRejection):
            raise SeriesError(f"{symbol}={path}:{item.line}: {item.code}: {item.detail}")
        line_no, bar = item
        if bars and bar.ts <= bars[-1].ts:
            raise SeriesError(
                f"{symbol}={path}:{line_no}: ts {bar.ts.isoformat()} is not after the bar before"
            )
        bars.append(bar)
        rows.append(lines[line_no - 1])
    if not bars:
        raise SeriesError(f"{symbol}={path}: no bars")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return BarSeries(symbol, name or path.name, lines[0], tuple(rows), tuple(bars), digest)


def series_from_bytes(
    symbol: str, name: str, data: bytes, instrument: Instrument, calendars: Calendars
) -> BarSeries:
    """The same, from a file's bytes (a Ray worker receives the data through the object store)."""
    with tempfile.TemporaryDirectory(prefix="tradebot-series-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        return load_series(symbol, path, instrument, calendars, name=name)
