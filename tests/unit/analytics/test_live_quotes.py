"""The book a broker's quote stream fills for a live run's TCA."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import anyio

from tradebot.analytics.live_quotes import LiveQuoteBook, follow
from tradebot.domain.quotes import Quote

T0 = datetime(2024, 8, 8, 23, 54, tzinfo=UTC)


def q(seconds: float, bid: str, ask: str) -> Quote:
    return Quote(T0 + timedelta(seconds=seconds), Decimal(bid), Decimal(ask))


def test_the_quote_at_an_instant_is_the_latest_known_and_not_too_old() -> None:
    book = LiveQuoteBook("binance:live", max_age=timedelta(seconds=30))
    for quote in (q(0, "100", "100.5"), q(10, "101", "101.5"), q(20, "102", "102.5")):
        book.add(quote)
    assert book.at(T0 - timedelta(seconds=1)) is None
    assert book.at(T0 + timedelta(seconds=15)) == q(10, "101", "101.5")
    assert book.at(T0 + timedelta(seconds=20)) == q(20, "102", "102.5")
    assert book.at(T0 + timedelta(seconds=50)) == q(20, "102", "102.5")
    assert book.at(T0 + timedelta(seconds=51)) is None  # older than 30 s: the figure becomes a proxy


def test_a_quote_older_than_the_last_is_ignored_and_the_book_keeps_the_most_recent() -> None:
    book = LiveQuoteBook("x", max_age=timedelta(hours=1), keep=3)
    book.add(q(5, "1", "2"))
    book.add(q(4, "9", "9.5"))  # out of order: ignored
    assert len(book) == 1
    for n in range(6, 20):
        book.add(q(n, str(n), str(n + 1)))
    assert len(book) <= 6
    assert book.at(T0 + timedelta(seconds=19)) == q(19, "19", "20")
    assert book.at(T0 + timedelta(seconds=6)) is None  # forgotten (before the kept ones)


def test_follow_copies_a_stream_and_tells_when_it_fails() -> None:
    errors: list[BaseException] = []

    async def stream() -> AsyncIterator[Quote]:
        yield q(0, "100", "100.25")
        yield q(1, "100.25", "100.5")
        raise ConnectionError("socket closed")

    book = LiveQuoteBook("x", max_age=timedelta(minutes=1))
    anyio.run(follow, stream(), book, errors.append)
    assert len(book) == 2 and book.at(T0 + timedelta(seconds=2)) == q(1, "100.25", "100.5")
    assert [type(e) for e in errors] == [ConnectionError]
