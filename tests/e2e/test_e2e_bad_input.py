"""Bad bars and bad files through the real pipeline: each refused with its reason code and line number."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from e2e_helpers import tradebot

from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(300)


def _write_bad_file(sample: Path, path: Path) -> dict[int, str]:
    lines = sample.read_text().splitlines()[:400]
    expected: dict[int, str] = {}
    # file line numbers are 1-based with the header on line 1, so lines[i] is on line i + 1
    fields = lines[50].split(",")
    fields[2] = "nan"
    lines[50] = ",".join(fields)
    expected[51] = "BAR_NAN"
    fields = lines[100].split(",")
    fields[3] = "-1676.25"
    lines[100] = ",".join(fields)
    expected[101] = "BAR_NON_POSITIVE_PRICE"
    lines.insert(151, lines[150])  # the same bar again right after it
    expected[152] = "BAR_DUPLICATE_TS"
    lines.insert(201, lines[190])  # a bar from the past
    expected[202] = "BAR_OUT_OF_ORDER"
    path.write_text("\n".join(lines) + "\n")
    return expected


def test_bad_bars_are_refused_with_code_and_line(tmp_path: Path, sample: Path) -> None:
    data = tmp_path / "bad.csv"
    expected = _write_bad_file(sample, data)
    store = tmp_path / "bad.db"
    result = tradebot("replay", "--data", str(data), "--out", str(store))
    assert result.returncode == 0, result.stderr
    for code in expected.values():
        assert f"{code} 1" in result.stdout
    assert re.search(r"^bars: +397 processed", result.stdout, re.M)  # 401 data lines, 4 refused
    with StoreReader(store) as reader:
        refused = {e.body["line"]: e.body["code"] for e in reader.iter_events(kinds=["bar_refused"])}
    assert refused == expected


def test_a_missing_column_refuses_the_file_naming_it(tmp_path: Path, sample: Path) -> None:
    lines = sample.read_text().splitlines()[:20]
    data = tmp_path / "novolume.csv"
    data.write_text("\n".join(",".join(line.split(",")[:5]) for line in lines) + "\n")
    result = tradebot("replay", "--data", str(data), "--out", str(tmp_path / "x.db"))
    assert result.returncode == 2
    assert "volume" in result.stderr and "BAR_MISSING_COLUMN" in result.stderr
    assert "line 1" in result.stderr


def test_a_config_with_two_errors_reports_both(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[run]\nmode = "yolo"\n[data]\nbar_size_s = 0\n')
    result = tradebot("config", "check", "--config", str(config))
    assert result.returncode == 2
    assert "run.mode" in result.stderr and "data.bar_size_s" in result.stderr
    assert "2 problem(s)" in result.stderr
