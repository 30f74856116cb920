"""Bytes that are not UTF-8: a bad line is refused (its line, the byte); a bad header refuses the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradebot.feeds import CsvBarFeed, FeedError, FeedRejection

HEADER = b"ts,open,high,low,close,volume\n"
ROW = b"2013-10-07T13:%02d:00Z,1676.75,1677.25,1673.5,1675.25,1884\n"


def test_a_line_that_is_not_utf8_is_refused_and_the_next_lines_read(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes(HEADER + ROW % 30 + (ROW % 31).replace(b"1884", b"18\xff4") + ROW % 32)
    items = list(CsvBarFeed(path, symbol="MES"))
    assert [i[0] for i in items if isinstance(i, tuple)] == [2, 4]
    (refused,) = [i for i in items if isinstance(i, FeedRejection)]
    assert (refused.line, refused.code) == (3, "BAR_MALFORMED")
    assert "not UTF-8" in refused.detail and "0xff" in refused.detail


def test_utf8_text_in_an_extra_column_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes(HEADER.replace(b"\n", b",note\n") + (ROW % 30).replace(b"\n", ",café\n".encode()))
    assert [type(i) for i in CsvBarFeed(path, symbol="MES")] == [tuple]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"ts,op\xe9n,high,low,close,volume\n" + ROW % 30, "byte 0xe9"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "byte 0x89"),
        (b"x" * 70_000, "no line end"),
    ],
    ids=["latin-1 header", "binary", "no line end"],
)
def test_a_header_that_is_not_csv_text_refuses_the_file(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes(content)
    with pytest.raises(FeedError) as refused:
        CsvBarFeed(path, symbol="MES")
    assert refused.value.code == "BAR_MALFORMED" and refused.value.line == 1
    assert words in str(refused.value) and str(path) in str(refused.value)


def test_a_directory_is_an_unreadable_bar_file(tmp_path: Path) -> None:
    with pytest.raises(FeedError) as refused:
        CsvBarFeed(tmp_path, symbol="MES")
    assert refused.value.code == "BAR_FILE_UNREADABLE" and "Is a directory" in str(refused.value)
