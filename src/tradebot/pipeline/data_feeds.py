"""The bar files a run reads: which instrument each one feeds, its bar size, and their bars as one stream.

A run reads one file (``--data FILE``, ``[data] path``; the instrument is ``--symbol`` or ``[data] symbol``)
or several (``--data SYMBOL=FILE`` repeated, or ``[data.feeds.SYMBOL]`` tables). Each file's bar size is its
feed's ``bar_size_s``, else ``[data] bar_size_s``; a daily file (``ts_local`` dates) has day bars placed at
its instrument's session close. Before anything is stored, every file must exist and its prices must fit
its instrument (``feeds/price_fit.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import anyio.lowlevel

from tradebot.domain.calendars import ALWAYS_OPEN, Calendars
from tradebot.domain.instruments import Instrument
from tradebot.feeds.csv_bars import DAY_S, CsvBarFeed, FeedError, FeedRejection, SessionClose, is_daily
from tradebot.feeds.merge import merge_feeds
from tradebot.feeds.price_fit import file_price_fit
from tradebot.ingest.validation import BarValidator
from tradebot.pipeline.runner import RefusedBar, SourceItem
from tradebot.settings import Settings


@dataclass(frozen=True, slots=True)
class FileFeed:
    symbol: str
    path: Path
    bar_size_s: int


def file_feeds(
    settings: Settings,
    data: Path | None,
    symbol: str | None,
    pairs: Sequence[tuple[str, Path]],
    default: Path,
) -> tuple[FileFeed, ...]:
    """The files this run reads, from the command line first, else the config (``default``: the bundled
    week). Raises ``ValueError`` naming the problem (a file missing, a symbol fed twice)."""
    configured = settings.data.feeds
    if pairs:
        chosen = [(s, p, configured[s].bar_size_s if s in configured else None) for s, p in pairs]
    elif data is not None:
        chosen = [(symbol or settings.data.symbol, data, None)]
    elif configured:
        missing = [s for s, feed in configured.items() if feed.path is None]
        if missing:
            raise ValueError(
                f"data.feeds.{missing[0]}.path: required to run on files (a replay, or [data] source = "
                '"csv"); give --data SYMBOL=FILE or a path'
            )
        chosen = [(s, feed.path, feed.bar_size_s) for s, feed in configured.items() if feed.path is not None]
    else:
        chosen = [(symbol or settings.data.symbol, settings.data.path or default, None)]
    seen: set[str] = set()
    feeds: list[FileFeed] = []
    for sym, path, size in chosen:
        if sym in seen:
            raise ValueError(f"--data: {sym} is fed twice; give each instrument one bar file")
        seen.add(sym)
        if not Path(path).exists():
            raise ValueError(f"data file not found: {path}")
        bar_size = DAY_S if is_daily(path) else (size or settings.data.bar_size_s)
        feeds.append(FileFeed(sym, Path(path), bar_size))
    return tuple(feeds)


def session_close(instrument: Instrument, calendars: Calendars) -> SessionClose:
    """The close of a trading date on the instrument's calendar (24/7: the next midnight UTC)."""
    code = instrument.calendar

    def close(day: date) -> datetime | None:
        if code == ALWAYS_OPEN:
            return datetime.combine(day, time(), UTC) + timedelta(days=1)
        session = calendars.session(code, day)
        return session.close if session is not None else None

    return close


def open_feed(feed: FileFeed, instrument: Instrument, calendars: Calendars) -> CsvBarFeed:
    return CsvBarFeed(
        feed.path, symbol=feed.symbol, interval_s=feed.bar_size_s,
        session_close=session_close(instrument, calendars),
    )


def feed_problems(
    feeds: Sequence[FileFeed], instruments: Mapping[str, Instrument], calendars: Calendars
) -> list[str]:
    """Every file whose prices do not fit its instrument (or that cannot be read), one line each."""
    problems: list[str] = []
    for feed in feeds:
        instrument = instruments[feed.symbol]
        try:
            why = file_price_fit(feed.path, instrument, session_close(instrument, calendars))
        except FeedError as exc:
            problems.append(f"data {feed.symbol}={feed.path}: {exc}")
            continue
        if why is not None:
            problems.append(f"data {feed.symbol}={feed.path}: refused as {feed.symbol}: {why}")
    return problems


def first_bar_ts(
    feeds: Sequence[FileFeed], instruments: Mapping[str, Instrument], calendars: Calendars,
    validator: BarValidator,
) -> datetime | None:
    """The earliest first bar validation accepts, over every file (the replay clock starts there)."""
    firsts: list[datetime] = []
    for feed in feeds:
        for item in open_feed(feed, instruments[feed.symbol], calendars):
            if isinstance(item, tuple) and validator.check(item[1]) is None:
                firsts.append(item[1].ts)
                break
    return min(firsts) if firsts else None


def first_bar_closes(
    feeds: Sequence[FileFeed], instruments: Mapping[str, Instrument], calendars: Calendars,
    validator: BarValidator,
) -> dict[str, Decimal]:
    """Each file's first bar that validation accepts: its close, by symbol (a file with none is left out)."""
    closes: dict[str, Decimal] = {}
    for feed in feeds:
        for item in open_feed(feed, instruments[feed.symbol], calendars):
            if isinstance(item, tuple) and validator.check(item[1]) is None:
                closes[feed.symbol] = Decimal(repr(item[1].close))
                break
    return closes


async def merged_source(
    feeds: Sequence[FileFeed], instruments: Mapping[str, Instrument], calendars: Calendars,
    checkpoint_every: int = 1_000,
) -> AsyncIterator[SourceItem]:
    """Every file's bars in time order (``feeds/merge.py``), refused lines as RefusedBar of their symbol."""
    opened = [open_feed(feed, instruments[feed.symbol], calendars) for feed in feeds]
    countdown = checkpoint_every
    for item in merge_feeds(opened):
        countdown -= 1
        if countdown == 0:
            countdown = checkpoint_every
            await anyio.lowlevel.checkpoint()
        if isinstance(item[1], FeedRejection):
            symbol, refused = item
            assert isinstance(symbol, str) and isinstance(refused, FeedRejection)
            yield RefusedBar(refused.code, refused.detail, refused.line, symbol)
        else:
            yield item


def data_name(feeds: Sequence[FileFeed]) -> str:
    """What ``run_start`` records as the run's data: the file's name, or SYMBOL=name of each file."""
    if len(feeds) == 1:
        return feeds[0].path.name
    return ";".join(f"{feed.symbol}={feed.path.name}" for feed in feeds)
