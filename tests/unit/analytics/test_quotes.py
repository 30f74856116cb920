from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tradebot.analytics.quotes import QuoteFileError, load_quotes

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"


def test_a_quote_bar_is_known_at_its_close(hand_quotes: Path) -> None:
    book = load_quotes(hand_quotes)
    assert book.at(datetime(2024, 1, 2, 14, 30, 59, tzinfo=UTC)) is None  # the 14:30 bar is not closed yet
    quote = book.at(datetime(2024, 1, 2, 14, 31, tzinfo=UTC))
    assert quote is not None and (quote.bid, quote.ask, quote.mid) == (
        Decimal("99.75"),
        Decimal("100.25"),
        100,
    )


def test_an_old_quote_is_refused(hand_quotes: Path) -> None:
    book = load_quotes(hand_quotes, max_age=timedelta(minutes=1))
    assert book.at(datetime(2024, 1, 2, 14, 36, tzinfo=UTC)) is None


def test_rows_without_a_side_are_skipped_and_best_bid_ask_files_read(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        "ts,bid_price,bid_qty,ask_price,ask_qty\n2024-01-02T00:00:00.123456789Z,,0,10.5,1\n"
        "2024-01-02T00:00:01Z,10,1,10.5,1\n"
    )
    book = load_quotes(path)
    assert len(book.quotes) == 1 and book.quotes[0].ts == datetime(2024, 1, 2, 0, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ts,open\n", "line 1 has no bid column"),
        ("ts,bid,ask\nyesterday,1,2\n", "line 2: ts 'yesterday'"),
        ("ts,bid,ask\n2024-01-02T00:00:00Z,x,2\n", "line 2: bid 'x' is not a number"),
        ("ts,bid,ask\n2024-01-02T00:00:00,1,2\n", "no time zone"),
        ("ts,bid,ask\n", "no row with both a bid and an ask"),
    ],
)
def test_a_bad_file_names_the_line_or_column(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(QuoteFileError, match=message):
        load_quotes(path)


@pytest.mark.skipif(not SHARED.exists(), reason="the shared market data is not beside the repository")
def test_the_real_es_quote_bars() -> None:
    book = load_quotes(SHARED / "es_esz13_1m_quotes_2013-10-06_2013-10-11.csv")
    # the 00:10 bar: bid close 1676, ask close 1676.25, known at 00:11
    quote = book.at(datetime(2013, 10, 7, 0, 11, tzinfo=UTC))
    assert quote is not None and (quote.bid, quote.ask) == (Decimal(1676), Decimal("1676.25"))
    assert len(book.quotes) == 7073 - 68  # the rows without a bid are skipped
