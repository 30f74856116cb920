"""Bars of several files as one stream: ordered by (end, symbol), refused lines in their file's place."""

from pathlib import Path

from tradebot.feeds.csv_bars import CsvBarFeed, FeedRejection
from tradebot.feeds.merge import merge_feeds

HEADER = "ts,open,high,low,close,volume"


def _file(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_bars_of_two_files_come_in_time_order_then_by_symbol(tmp_path: Path) -> None:
    spy = _file(tmp_path, "spy.csv", ["2013-10-07T13:30:00Z,1,1,1,1,1", "2013-10-07T13:31:00Z,1,1,1,1,1"])
    mes = _file(tmp_path, "mes.csv", ["2013-10-07T13:29:00Z,2,2,2,2,1", "2013-10-07T13:30:00Z,2,2,2,2,1",
                                      "2013-10-07T13:32:00Z,2,2,2,2,1"])
    feeds = [CsvBarFeed(spy, symbol="SPY"), CsvBarFeed(mes, symbol="MES")]
    order = [(item[1].symbol, item[1].ts.strftime("%H:%M")) for item in merge_feeds(feeds)
             if not isinstance(item[1], FeedRejection)]
    assert order == [("MES", "13:29"), ("MES", "13:30"), ("SPY", "13:30"), ("SPY", "13:31"), ("MES", "13:32")]


def test_a_refused_line_comes_right_after_its_files_previous_bar(tmp_path: Path) -> None:
    spy = _file(tmp_path, "spy.csv", ["2013-10-07T13:30:00Z,1,1,1,1,1", "not,a,bar,at,all,x",
                                      "2013-10-07T13:33:00Z,1,1,1,1,1"])
    mes = _file(tmp_path, "mes.csv", ["2013-10-07T13:31:00Z,2,2,2,2,1", "2013-10-07T13:32:00Z,2,2,2,2,1"])
    items = list(merge_feeds([CsvBarFeed(spy, symbol="SPY"), CsvBarFeed(mes, symbol="MES")]))
    kinds = [("refused", item[0]) if isinstance(item[1], FeedRejection) else (item[1].symbol, item[0])
             for item in items]
    assert kinds == [("SPY", 2), ("refused", "SPY"), ("MES", 2), ("MES", 3), ("SPY", 4)]


def test_merging_reads_each_file_lazily(tmp_path: Path) -> None:
    rows = [f"2013-10-07T{h:02d}:{m:02d}:00Z,1,1,1,1,1" for h in range(10, 14) for m in range(60)]
    big = _file(tmp_path, "big.csv", rows)
    stream = merge_feeds([CsvBarFeed(big, symbol="A"), CsvBarFeed(big, symbol="B")])
    first = next(stream)
    assert not isinstance(first[1], FeedRejection) and first[1].symbol == "A"
