"""Bars of several files as one stream, in time order.

Each file is read lazily (one line at a time per file: memory does not grow with the files). Bars come
ordered by (end time, symbol), so bars of the same minute from different instruments always come in the
same order; a refused line comes where it stands in its own file (after that file's previous bar).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from tradebot.domain.bars import Bar
from tradebot.feeds.csv_bars import CsvBarFeed, FeedRejection

_START = datetime.min.replace(tzinfo=UTC)

MergedItem = tuple[int, Bar] | tuple[str, FeedRejection]  # (line, bar) or (symbol, refused line)


def merge_feeds(feeds: Sequence[CsvBarFeed]) -> Iterator[MergedItem]:
    """Every feed's items, merged by (bar end, symbol); a refusal keeps its place in its own file."""
    streams = [_keyed(feed, i) for i, feed in enumerate(feeds)]
    for _key, item in heapq.merge(*streams, key=lambda keyed: keyed[0]):
        yield item


def _keyed(feed: CsvBarFeed, order: int) -> Iterator[tuple[tuple[datetime, str, int, int], MergedItem]]:
    last = _START
    for n, item in enumerate(feed):
        if isinstance(item, FeedRejection):
            yield (last, feed.symbol, order, n), (feed.symbol, item)
            continue
        last = item[1].end
        yield (last, feed.symbol, order, n), item
