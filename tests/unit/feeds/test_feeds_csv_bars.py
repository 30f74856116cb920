"""The CSV bar feed streams lines into bars, names the line of what it cannot parse, and refuses a file
without the columns it needs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.feeds import CsvBarFeed, FeedError, FeedRejection, infer_interval_s, sample_path

HEADER = "ts,open,high,low,close,volume"


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_parses_bars_with_z_and_offset_suffixes(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, "2013-10-06T22:00:00Z,1676.75,1677.25,1673.5,1675.25,1884",
                 "2013-10-06T22:01:00+00:00,1675.5,1675.75,1674,1674.25,753")
    items = list(CsvBarFeed(path, symbol="MES"))
    assert items == [
        (2, Bar("MES", datetime(2013, 10, 6, 22, 0, tzinfo=UTC), 1676.75, 1677.25, 1673.5, 1675.25, 1884.0)),
        (3, Bar("MES", datetime(2013, 10, 6, 22, 1, tzinfo=UTC), 1675.5, 1675.75, 1674.0, 1674.25, 753.0)),
    ]


def test_columns_in_any_order_and_extra_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "volume,close,low,high,open,ts,note",
                 "1884,1675.25,1673.5,1677.25,1676.75,2013-10-06T22:00:00Z,first")
    ((line, bar),) = list(CsvBarFeed(path, symbol="ES", interval_s=300))  # type: ignore[misc]
    assert line == 2 and bar.open == 1676.75 and bar.volume == 1884.0 and bar.interval_s == 300


def test_unparsable_lines_are_rejected_with_their_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER,
                 "2013-10-06T22:00:00Z,1676.75,1677.25,1673.5,1675.25,1884",
                 "2013-10-06T22:01:00Z,1675.5,1675.75,1674,1674.25",
                 "2013-10-06T22:02:00Z,abc,1675.5,1673.25,1675.25,801",
                 "yesterday,1674.5,1675.5,1673.25,1675.25,801",
                 "2013-10-06T22:04:00,1674.5,1675.5,1673.25,1675.25,801",
                 "2013-10-06T18:05:00-04:00,1674.5,1675.5,1673.25,1675.25,801",
                 "",
                 "2013-10-06T22:06:00Z,1675.25,1675.5,1675,1675.5,186")
    items = list(CsvBarFeed(path, symbol="MES"))
    rejections = [item for item in items if isinstance(item, FeedRejection)]
    assert [(r.line, r.code) for r in rejections] == [
        (3, reasons.BAR_MALFORMED), (4, reasons.BAR_MALFORMED), (5, reasons.BAR_MALFORMED),
        (6, reasons.BAR_MALFORMED), (7, reasons.BAR_MALFORMED),
    ]
    assert "expected 6 fields, got 5" in rejections[0].detail
    assert rejections[1].detail.startswith("open: 'abc'")
    assert rejections[2].detail.startswith("ts: 'yesterday'")
    assert "not UTC" in rejections[3].detail and "not UTC" in rejections[4].detail
    assert [item[0] for item in items if isinstance(item, tuple)] == [2, 9]  # blank line 8 skipped


def test_nan_and_negative_values_are_left_to_validation(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, "2013-10-06T22:00:00Z,nan,1677.25,1673.5,1675.25,1884",
                 "2013-10-06T22:01:00Z,-1675.5,1675.75,1674,1674.25,753")
    items = list(CsvBarFeed(path, symbol="MES"))
    assert [item[0] for item in items if isinstance(item, tuple)] == [2, 3]


@pytest.mark.parametrize("column", ["ts", "open", "high", "low", "close", "volume"])
def test_missing_column_is_an_error_naming_it(tmp_path: Path, column: str) -> None:
    names = [c for c in HEADER.split(",") if c != column]
    path = write(tmp_path, ",".join(names), ",".join("1" for _ in names))
    with pytest.raises(FeedError, match=rf"missing column {column} ") as error:
        CsvBarFeed(path, symbol="MES")
    assert error.value.code == reasons.BAR_MISSING_COLUMN and error.value.line == 1
    assert str(error.value).startswith("line 1: BAR_MISSING_COLUMN")


def test_empty_file_has_no_header(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(FeedError, match="no header") as error:
        CsvBarFeed(path, symbol="MES")
    assert error.value.code == reasons.BAR_MISSING_COLUMN


def test_byte_order_mark_and_crlf_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n2013-10-06T22:00:00Z,1,2,0.5,1.5,10\r\n")
    ((line, bar),) = list(CsvBarFeed(path, symbol="MES"))  # type: ignore[misc]
    assert line == 2 and bar.volume == 10.0


def test_interval_inferred_from_the_smallest_step() -> None:
    assert infer_interval_s(sample_path()) == 60


async def test_async_iteration_yields_the_same_items() -> None:
    feed = CsvBarFeed(sample_path(), symbol="MES")
    items = [item async for item in feed.aiter(checkpoint_every=500)]
    assert items == list(feed)


async def test_async_iteration_checkpoints_every_n_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio.lowlevel

    rows = [f"2013-10-06T22:{m:02d}:00Z,1676.75,1677.25,1673.5,1675.25,1884" for m in range(7)]
    path = write(tmp_path, HEADER, *rows)
    calls = 0
    real = anyio.lowlevel.checkpoint

    async def counting() -> None:
        nonlocal calls
        calls += 1
        await real()

    monkeypatch.setattr(anyio.lowlevel, "checkpoint", counting)
    items = [item async for item in CsvBarFeed(path, symbol="MES").aiter(checkpoint_every=3)]
    assert len(items) == 7 and calls == 2  # after the 3rd and the 6th item
    with pytest.raises(ValueError, match="checkpoint_every"):
        [item async for item in CsvBarFeed(path, symbol="MES").aiter(checkpoint_every=0)]


def test_a_daily_file_places_each_bar_at_its_session_close(tmp_path: Path) -> None:
    from datetime import UTC, date, datetime

    from tradebot.feeds.csv_bars import DAY_S, CsvBarFeed, FeedError, FeedRejection, is_daily

    path = tmp_path / "daily.csv"
    path.write_text("ts_local,open,high,low,close,volume\n2013-10-04,1,1,1,1,1\n2013-10-05,1,1,1,1,1\n"
                    "2013-10-07,1,1,1,1,1\nnot-a-date,1,1,1,1,1\n")
    assert is_daily(path)
    closes = {date(2013, 10, 4): datetime(2013, 10, 4, 20, tzinfo=UTC),
              date(2013, 10, 7): datetime(2013, 10, 7, 20, tzinfo=UTC)}  # no session on Saturday the 5th
    items = list(CsvBarFeed(path, symbol="SPY", session_close=closes.get))
    first, saturday, monday, bad = items
    assert isinstance(first, tuple) and first[1].interval_s == DAY_S
    assert first[1].end == datetime(2013, 10, 4, 20, tzinfo=UTC)
    assert isinstance(saturday, FeedRejection) and "no trading session on 2013-10-05" in saturday.detail
    assert isinstance(monday, tuple) and monday[1].end == datetime(2013, 10, 7, 20, tzinfo=UTC)
    assert isinstance(bad, FeedRejection) and "ts_local: 'not-a-date' is not a date" in bad.detail
    with pytest.raises(FeedError, match="needs the instrument's calendar"):
        CsvBarFeed(path, symbol="SPY")
