"""The bundled real ES week through the CSV feed and bar validation: all of it clean, and copies of it with
injected faults refused line by line with the right reason code."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradebot.domain import reasons
from tradebot.feeds import SAMPLE_BAR_COUNT, CsvBarFeed, FeedError, FeedRejection, sample_path
from tradebot.ingest import BarValidator

Refusal = tuple[int, str]


def run(path: Path) -> tuple[int, list[Refusal]]:
    """Feed + validator, as ingest runs them: (accepted bars, [(line, code)] refused)."""
    validator = BarValidator()
    refused: list[Refusal] = []
    for item in CsvBarFeed(path, symbol="MES"):
        if isinstance(item, FeedRejection):
            refused.append((item.line, item.code))
            continue
        line, bar = item
        code = validator.check(bar)
        if code is not None:
            refused.append((line, code))
    return validator.accepted, refused


def test_whole_week_is_clean() -> None:
    feed = CsvBarFeed(sample_path(), symbol="MES")
    bars = [item[1] for item in feed if isinstance(item, tuple)]
    assert len(bars) == SAMPLE_BAR_COUNT == 6826
    assert bars[0].ts == datetime(2013, 10, 6, 22, 0, tzinfo=UTC)
    assert (bars[0].open, bars[0].high, bars[0].low, bars[0].close, bars[0].volume) == (
        1676.75, 1677.25, 1673.5, 1675.25, 1884.0)
    assert bars[-1].ts == datetime(2013, 10, 11, 21, 14, tzinfo=UTC)
    assert run(sample_path()) == (6826, [])


def test_injected_faults_are_refused_with_code_and_line(tmp_path: Path) -> None:
    lines = sample_path().read_text().splitlines()
    header, data = lines[0], lines[1:]
    # file line of data[i] is i + 2 (the header is line 1)
    ts, o, h, low, c, v = data[99].split(",")
    data[99] = ",".join([ts, "NaN", h, low, c, v])  # line 101
    ts, o, h, low, c, v = data[499].split(",")
    data[499] = ",".join([ts, o, h, "-" + low, c, v])  # line 501
    data[999] = data[998]  # line 1001 repeats line 1000's timestamp
    data[1999], data[2000] = data[2000], data[1999]  # line 2002 is earlier than line 2001
    data[2999] = data[2999].rsplit(",", 1)[0] + ",many"  # line 3001: unparsable volume
    bad = tmp_path / "es_bad.csv"
    bad.write_text("\n".join([header, *data]) + "\n")

    accepted, refused = run(bad)
    assert refused == [
        (101, reasons.BAR_NAN),
        (501, reasons.BAR_NON_POSITIVE_PRICE),
        (1001, reasons.BAR_DUPLICATE_TS),
        (2002, reasons.BAR_OUT_OF_ORDER),
        (3001, reasons.BAR_MALFORMED),
    ]
    assert accepted == 6826 - 5


@pytest.mark.parametrize("column", ["low", "volume"])
def test_real_file_without_a_column_is_unusable(tmp_path: Path, column: str) -> None:
    lines = sample_path().read_text().splitlines()
    drop = lines[0].split(",").index(column)
    cut = tmp_path / f"es_no_{column}.csv"
    cut.write_text("\n".join(
        ",".join(f for i, f in enumerate(line.split(",")) if i != drop) for line in lines) + "\n")
    with pytest.raises(FeedError, match=f"missing column {column}") as error:
        CsvBarFeed(cut, symbol="MES")
    assert (error.value.code, error.value.line) == (reasons.BAR_MISSING_COLUMN, 1)
