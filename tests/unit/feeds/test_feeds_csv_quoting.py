"""The bar feed reads CSV as the csv module does: quoted headers and fields (as spreadsheets and pandas
write them) parse, a quoted comma stays inside its field, and a line the csv module refuses is refused
with its line number while the next lines are read."""

from __future__ import annotations

from pathlib import Path

from tradebot.feeds import CsvBarFeed, FeedRejection

HEADER = b"ts,open,high,low,close,volume\n"
ROW = b"2013-10-07T13:%02d:00Z,1676.75,1677.25,1673.5,1675.25,1884\n"


def test_quoted_header_and_fields_parse(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes(
        b'"ts","open","high","low","close","volume"\r\n'
        b'"2013-10-07T13:30:00Z","1676.75","1677.25","1673.5","1675.25","1884"\r\n'
    )
    ((line, bar),) = list(CsvBarFeed(path, symbol="MES"))  # type: ignore[misc]
    assert line == 2 and bar.close == 1675.25 and bar.volume == 1884.0


def test_a_quoted_comma_stays_in_its_extra_column(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes(HEADER.replace(b"\n", b",note\n") + (ROW % 30).replace(b"\n", b',"roll, front month"\n'))
    assert [type(i) for i in CsvBarFeed(path, symbol="MES")] == [tuple]


def test_a_line_the_csv_module_refuses_is_refused_and_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    # a field over the csv module's size limit
    huge = b"2013-10-07T13:31:00Z," + b"1" * 200_000 + b",1677.25,1673.5,1675.25,1884\n"
    path.write_bytes(HEADER + ROW % 30 + huge + ROW % 32)
    items = list(CsvBarFeed(path, symbol="MES"))
    assert [i[0] for i in items if isinstance(i, tuple)] == [2, 4]
    (refused,) = [i for i in items if isinstance(i, FeedRejection)]
    assert (refused.line, refused.code) == (3, "BAR_MALFORMED") and "field limit" in refused.detail
