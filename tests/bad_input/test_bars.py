"""Bad bar files through the real command: each bad line refused with its reason code and its line (the
bars around it kept), each unusable file refused with exit 2 and a message naming it, never a traceback.

The rows edit the bundled sample (a header and 120 one-minute bars) as bytes: the bad lines all go in one
file (one replay: each refused at its line, every other bar kept), each unusable file gets its own run.
Any new bar input the daemon reads gets its rows here.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from bad_input_helpers import RunCli, StoreView

pytestmark = pytest.mark.timeout(300)

Original = list[bytes]  # the sample's lines without line ends: [0] is the header, [n - 1] is file line n


@dataclass(frozen=True)
class BadLine:
    """File line ``line`` replaced by ``make(original lines)``; refused with ``code``."""

    name: str
    line: int
    make: Callable[[Original], bytes]
    code: str


def field(line: int, column: int, value: bytes) -> Callable[[Original], bytes]:
    """File line ``line`` with field ``column`` (0 ts, 1 open, 2 high, 3 low, 4 close, 5 volume) replaced."""

    def make(lines: Original) -> bytes:
        fields = lines[line - 1].split(b",")
        fields[column] = value
        return b",".join(fields)

    return make


def dated(line: int, year: bytes) -> Callable[[Original], bytes]:
    return lambda lines: year + lines[line - 1][4:]


def copy_of(line: int) -> Callable[[Original], bytes]:
    return lambda lines: lines[line - 1]


# one bad line each, all in one file: each is refused at its line, every other bar is kept
BAD_LINES = [
    BadLine("the first bar dated 2099", 2, dated(2, b"2099"), "BAR_OUTSIDE_CALENDAR"),
    BadLine("a missing field", 20, lambda ls: ls[19].rsplit(b",", 1)[0], "BAR_MALFORMED"),
    BadLine("a word for a number", 21, field(21, 3, b"abc"), "BAR_MALFORMED"),
    BadLine("a timestamp without a zone", 22, field(22, 0, b"2013-10-06T22:21:00"), "BAR_MALFORMED"),
    BadLine("a timestamp that is not a date", 23, field(23, 0, b"yesterday"), "BAR_MALFORMED"),
    BadLine("NaN", 24, field(24, 2, b"nan"), "BAR_NAN"),
    BadLine("infinity", 25, field(25, 4, b"inf"), "BAR_NAN"),
    BadLine("a negative price", 26, field(26, 3, b"-1676.25"), "BAR_NON_POSITIVE_PRICE"),
    BadLine("high below low", 27, field(27, 2, b"1600"), "BAR_HIGH_BELOW_LOW"),
    BadLine("a negative volume", 28, field(28, 5, b"-5"), "BAR_NEGATIVE_VOLUME"),
    BadLine("a byte that is not UTF-8 in a price", 30, field(30, 1, b"1676.\xff5"), "BAR_MALFORMED"),
    BadLine("a Latin-1 byte in the timestamp", 31, field(31, 0, b"2013-10-06T22:3\xe9:00Z"), "BAR_MALFORMED"),
    BadLine(
        "an invalid UTF-8 sequence after the fields", 40, lambda ls: ls[39] + b",caf\xc3\x28", "BAR_MALFORMED"
    ),
    BadLine("a NUL byte in a number", 41, field(41, 2, b"16\x0077"), "BAR_MALFORMED"),
    BadLine("a bar dated 2099", 50, dated(50, b"2099"), "BAR_OUTSIDE_CALENDAR"),
    BadLine("a bar dated 1985, before the calendar's range", 60, dated(60, b"1985"), "BAR_OUTSIDE_CALENDAR"),
    BadLine("the same bar twice", 71, copy_of(70), "BAR_DUPLICATE_TS"),
    BadLine("a bar from the past", 81, copy_of(61), "BAR_OUT_OF_ORDER"),
    BadLine("a byte that is not UTF-8 on the last line", 121, field(121, 5, b"\xc0\xaf"), "BAR_MALFORMED"),
]


def test_each_bad_line_is_refused_with_its_code_and_line_and_the_rest_kept(
    tmp_path: Path, sample_lines: list[str], run_cli: RunCli, stored: StoreView
) -> None:
    original = [ln.encode() for ln in sample_lines]
    lines = list(original)
    for bad in BAD_LINES:
        lines[bad.line - 1] = bad.make(original)
    data = tmp_path / "bars.csv"
    data.write_bytes(b"\n".join(lines) + b"\n")
    store = tmp_path / "bars.db"

    result = run_cli("replay", "--data", str(data), "--out", str(store), "-q")

    assert result.code == 0, result.output
    refused = {b["line"]: b["code"] for b in stored.bodies(store, "bar_refused")}
    for bad in BAD_LINES:
        assert refused.get(bad.line) == bad.code, f"{bad.name}: line {bad.line} {refused.get(bad.line)}"
    assert len(refused) == len(BAD_LINES)
    good = len(lines) - 1 - len(BAD_LINES)
    assert stored.kinds(store)["bar"] == good  # the bars around every bad line are kept
    assert f"bars: {good} processed" in result.words


def test_line_ends_blank_lines_and_a_byte_order_mark_are_not_refusals(
    tmp_path: Path, sample_lines: list[str], run_cli: RunCli, stored: StoreView
) -> None:
    lines = [ln.encode() for ln in sample_lines]
    lines[10:10] = [b"", b"  "]
    data = tmp_path / "bars.csv"
    data.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n")
    store = tmp_path / "bars.db"
    result = run_cli("replay", "--data", str(data), "--out", str(store), "-q")
    assert result.code == 0, result.output
    assert stored.kinds(store)["bar"] == 120 and stored.bodies(store, "bar_refused") == []


def test_a_bar_outside_the_calendar_stays_refused_on_every_restart(
    tmp_path: Path, sample_lines: list[str], run_cli: RunCli, stored: StoreView
) -> None:
    lines = [ln.encode() for ln in sample_lines]
    lines[49] = dated(50, b"2099")(lines)
    data = tmp_path / "bars.csv"
    data.write_bytes(b"\n".join(lines) + b"\n")
    store = tmp_path / "bars.db"
    for _ in range(2):  # the second continues the store
        result = run_cli("replay", "--data", str(data), "--out", str(store), "-q", "--resume")
        assert result.code == 0, result.output
    assert stored.kinds(store)["bar"] == 119
    assert [b["line"] for b in stored.bodies(store, "bar_refused")] == [50]  # recorded once


@dataclass(frozen=True)
class FileCase:
    name: str
    content: Callable[[bytes], bytes]  # from the sample's bytes
    words: tuple[str, ...]
    code: int = 2
    store_created: bool = False


def _png(_: bytes) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + random.Random(7).randbytes(4096)


FILE_CASES = [
    FileCase(
        "a header that is not UTF-8",
        lambda b: b.replace(b"open", b"op\xffen", 1),
        ("BAR_MALFORMED", "line 1", "header is not CSV text", "byte 0xff"),
    ),
    FileCase("a binary file (PNG)", _png, ("BAR_MALFORMED", "line 1", "not CSV text", "byte 0x89")),
    FileCase("a gzip-compressed CSV", gzip.compress, ("BAR_MALFORMED", "not CSV text", "byte 0x8b")),
    FileCase("a UTF-16 CSV", lambda b: b.decode().encode("utf-16"), ("BAR_MALFORMED", "not CSV text")),
    FileCase("an empty file", lambda b: b"", ("BAR_MISSING_COLUMN", "no header line")),
    FileCase(
        "no volume column",
        lambda b: b"\n".join(b",".join(ln.split(b",")[:5]) for ln in b.splitlines()),
        ("BAR_MISSING_COLUMN", "volume", "line 1"),
    ),
    FileCase("one endless first line", lambda b: b"a" * 70_000, ("BAR_MALFORMED", "no line end")),
]


@pytest.mark.parametrize("case", FILE_CASES, ids=[c.name for c in FILE_CASES])
def test_an_unusable_bar_file_is_refused_naming_it(
    case: FileCase, tmp_path: Path, sample_lines: list[str], run_cli: RunCli
) -> None:
    data = tmp_path / "bars.csv"
    data.write_bytes(case.content(("\n".join(sample_lines) + "\n").encode()))
    store = tmp_path / "bars.db"

    result = run_cli("replay", "--data", str(data), "--out", str(store))

    assert result.code == case.code, result.output
    assert str(data) in result.stderr
    for word in case.words:
        assert word in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert store.exists() is case.store_created  # refused before anything is written


def test_a_header_without_bars_is_an_empty_run(
    tmp_path: Path, sample_lines: list[str], run_cli: RunCli
) -> None:
    data = tmp_path / "bars.csv"
    data.write_text(sample_lines[0] + "\n")
    result = run_cli("replay", "--data", str(data), "--out", str(tmp_path / "bars.db"), "-q")
    assert result.code == 0, result.output
    assert "bars: 0 processed" in result.words
