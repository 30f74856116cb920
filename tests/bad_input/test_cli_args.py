"""Bad command-line arguments and unreadable inputs they point at: exit 2 (bad input) with one or two lines
naming the argument or file and what to do; nothing written. ``--debug`` shows the traceback as well.

In each row's arguments ``{data}`` is a good bar file, ``{dir}`` a directory, ``{tmp}`` the test's folder
and ``{store}`` a store path that does not exist yet. Any new argument gets its rows here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from bad_input_helpers import RunCli

pytestmark = pytest.mark.timeout(300)


@dataclass(frozen=True)
class ArgCase:
    name: str
    args: tuple[str, ...]
    words: tuple[str, ...]
    code: int = 2
    env: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, bytes] = field(default_factory=dict)  # {tmp}-relative files to write first


ARG_CASES = [
    ArgCase(
        "--data is a directory",
        ("replay", "--data", "{dir}", "--out", "{store}"),
        ("{dir}", "Is a directory"),
    ),
    ArgCase(
        "--data does not exist", ("replay", "--data", "{tmp}/nope.csv", "--out", "{store}"), ("not found",)
    ),
    ArgCase(
        "--out is a directory",
        ("replay", "--data", "{data}", "--out", "{dir}"),
        ("--store/--out", "{dir} is a directory", "tradebot.db"),
    ),
    ArgCase(
        "--store is a directory",
        ("run", "--data", "{data}", "--store", "{dir}"),
        ("--store/--out", "{dir} is a directory"),
    ),
    ArgCase(
        "--out under a file",
        ("replay", "--data", "{data}", "--out", "{tmp}/a-file/week.db"),
        ("{tmp}/a-file", "a file is in the way"),
        files={"a-file": b"x"},
    ),
    ArgCase(
        "--intents is a directory",
        ("replay", "--data", "{data}", "--out", "{store}", "--intents", "{dir}"),
        ("--intents", "{dir} is not a file"),
    ),
    ArgCase(
        "--intents does not exist",
        ("replay", "--data", "{data}", "--out", "{store}", "--intents", "{tmp}/none.jsonl"),
        ("--intents", "not found"),
    ),
    ArgCase(
        "--mode is unknown", ("run", "--mode", "yolo", "--data", "{data}", "--store", "{store}"), ("--mode",)
    ),
    ArgCase(
        "--max-bars 0", ("run", "--data", "{data}", "--store", "{store}", "--max-bars", "0"), ("--max-bars",)
    ),
    ArgCase("an unknown option", ("replay", "--data", "{data}", "--out", "{store}", "--fast"), ("--fast",)),
    ArgCase(
        "a config file that is not UTF-8",
        ("replay", "--config", "{tmp}/latin1.toml", "--data", "{data}", "--out", "{store}"),
        ("{tmp}/latin1.toml", "UTF-8"),
        files={"latin1.toml": b'[run]\naccount_id = "caf\xe9"\n'},
    ),
    ArgCase(
        "a config path that is a directory",
        ("replay", "--config", "{dir}", "--data", "{data}", "--out", "{store}"),
        ("{dir}", "not a file"),
    ),
    ArgCase(
        "a section variable that is not JSON",
        ("replay", "--data", "{data}", "--out", "{store}"),
        ("TRADEBOT_INSTRUMENTS", "JSON"),
        env={"TRADEBOT_INSTRUMENTS": "{{bad"},
    ),
    ArgCase(
        "--quotes without SYMBOL=",
        ("replay", "--data", "{data}", "--out", "{store}", "--quotes", "{tmp}/q.csv"),
        ("--quotes", "SYMBOL=FILE"),
    ),
    ArgCase(
        "--quotes for an instrument the run does not trade",
        ("replay", "--data", "{data}", "--out", "{store}", "--quotes", "SPY={tmp}/q.csv"),
        ("--quotes SPY", "not an instrument of this run"),
        files={"q.csv": b"ts,bid,ask\n2013-10-07T13:30:00Z,1670,1670.25\n"},
    ),
    ArgCase(
        "--quotes file does not exist",
        ("replay", "--data", "{data}", "--out", "{store}", "--quotes", "MES={tmp}/nope.csv"),
        ("--quotes MES", "{tmp}/nope.csv"),
    ),
    ArgCase(
        "--quotes file without a bid column",
        ("run", "--data", "{data}", "--store", "{store}", "--quotes", "MES={tmp}/q.csv"),
        ("--quotes MES", "{tmp}/q.csv", "line 1 has no bid column"),
        files={"q.csv": b"ts,price\n2013-10-07T13:30:00Z,1670\n"},
    ),
    ArgCase(
        "a [tca] quotes file that does not exist",
        ("replay", "--data", "{data}", "--out", "{store}"),
        ("tca.quotes.MES", "{tmp}/nope.csv"),
        env={"TRADEBOT_TCA__QUOTES": '{{"MES": "{tmp}/nope.csv"}}'},
    ),
    ArgCase("status of a store that does not exist", ("status", "--store", "{store}"), ("{store}",)),
    ArgCase("status of a directory", ("status", "--store", "{dir}"), ("{dir}", "not an event store")),
    ArgCase(
        "learn: a store that does not exist", ("learn", "--store", "{store}"), ("no event store at {store}",)
    ),
    ArgCase(
        "learn: a --day that is not a date",
        ("learn", "--store", "{data}", "--day", "monday"),
        ("--day 'monday' is not a date",),
    ),
    ArgCase("learn: --to without --rollback", ("learn", "--to", "2"), ("--to is for --rollback",)),
    ArgCase(
        "learn: a negative --to", ("learn", "--rollback", "--to", "-1"), ("--to must be a version >= 0",)
    ),
    ArgCase(
        "learn: learning is off in the config",
        ("learn", "--store", "{data}"),
        ("learning is off", "enabled = false"),
    ),
    ArgCase(
        "learn: a rollback with no overrides in force",
        ("learn", "--rollback"),
        ("{tmp}/o.json", "nothing to roll back"),
        env={"TRADEBOT_LEARNING__PATH": "{tmp}/o.json"},
    ),
    ArgCase(
        "learn: a rollback to a version never stored",
        ("learn", "--rollback", "--to", "4"),
        ("no stored version 4",),
        env={"TRADEBOT_LEARNING__PATH": "{tmp}/o.json"},
        files={"o.json": b'{"format": 1, "version": 1, "created_at": "2013-10-07T20:00:00+00:00", '
                         b'"day": "2013-10-07", "previous_version": 0, "overrides": []}'},
    ),
    ArgCase(
        "research: overlapping test windows",
        ("research", "walk-forward", "--data", "MES={data}", "--step", "20", "--test", "30"),
        ("step (20) must be at least test (30)",),
    ),
    ArgCase(
        "research: too few bars for one fold",
        ("research", "walk-forward", "--data", "MES={data}", "--out", "{tmp}/wf"),
        ("MES: too few bars for one fold",),
    ),
    ArgCase(
        "research: a parameter no component has",
        ("research", "walk-forward", "--data", "MES={data}", "--param", "nosuch.window=3"),
        ("'nosuch.window' names no component",),
    ),
    ArgCase(
        "research: a parameter value the component refuses",
        ("research", "sweep", "--data", "MES={data}", "--param", "trend_ema.fast=0,5"),
        ("--param", "fast", "(got 0)"),
    ),
    ArgCase(
        "research: a parameter without a value",
        ("research", "sweep", "--data", "MES={data}", "--param", "trend_ema.fast"),
        ("write component.param=value",),
    ),
    ArgCase(
        "research: a missing bar file",
        ("research", "walk-forward", "--data", "MES={tmp}/nope.csv"),
        ("{tmp}/nope.csv", "cannot read"),
    ),
    ArgCase(
        "research: zero Ray workers",
        ("research", "sweep", "--data", "MES={data}", "--workers", "0"),
        ("--workers: at least 1",),
    ),
    ArgCase(
        "report: a readiness criterion without --readiness",
        ("report", "--store", "{store}", "--min-days", "5"),
        ("--min-days", "--readiness"),
    ),
    ArgCase(
        "report --readiness: zero days",
        ("report", "--readiness", "--store", "{store}", "--min-days", "0"),
        ("--min-days",),
    ),
    ArgCase(
        "report --readiness: a score above 1",
        ("report", "--readiness", "--store", "{store}", "--min-score", "1.5"),
        ("--min-score",),
    ),
    ArgCase(
        "explain: a store that does not exist", ("explain", "5", "--store", "{store}"), ("no event store",)
    ),
    ArgCase("explain: sequence number 0", ("explain", "0", "--store", "{store}"), ("seq", "greater than")),
    ArgCase("explain: a sequence number that is not a number", ("explain", "last"), ("seq", "integer")),
    ArgCase("promote: a store that does not exist", ("promote", "--store", "{store}"), ("no event store",)),
    ArgCase(
        "promote: a directory as the store", ("promote", "--store", "{dir}"), ("--store {dir} is not a file",)
    ),
    ArgCase(
        "explain: a directory as the store",
        ("explain", "5", "--store", "{dir}"),
        ("--store {dir} is not a file",),
    ),
    ArgCase(
        "report: a directory as the store", ("report", "--store", "{dir}"), ("--store {dir} is not a file",)
    ),
    ArgCase(
        "learn: a directory as the store", ("learn", "--store", "{dir}"), ("--store {dir} is not a file",)
    ),
    ArgCase(
        "promote: fewer samples than the floor",
        ("promote", "--store", "{store}", "--min-samples", "10"),
        ("--min-samples", "30"),
    ),
    ArgCase(
        "promote: a smaller margin than the floor",
        ("promote", "--store", "{store}", "--min-outperformance", "0.01"),
        ("--min-outperformance", "0.05"),
    ),
    ArgCase(
        "report --readiness: a store that does not exist",
        ("report", "--readiness", "--store", "{store}"),
        ("no event store", "{store}"),
    ),
]


def _fill(text: str, tmp: Path, data: Path) -> str:
    return text.format(tmp=tmp, data=data, dir=tmp / "a-dir", store=tmp / "new.db")


@pytest.mark.parametrize("case", ARG_CASES, ids=[c.name for c in ARG_CASES])
def test_a_bad_argument_is_refused_naming_it(
    case: ArgCase, tmp_path: Path, sample_lines: list[str], run_cli: RunCli
) -> None:
    data = tmp_path / "bars.csv"
    data.write_text("\n".join(sample_lines[:31]) + "\n")
    (tmp_path / "a-dir").mkdir()
    for name, content in case.files.items():
        (tmp_path / name).write_bytes(content)

    env = {name: _fill(value, tmp_path, data) for name, value in case.env.items()}
    result = run_cli(*(_fill(a, tmp_path, data) for a in case.args), env=env)

    assert result.code == case.code, result.output
    for word in case.words:
        assert _fill(word, tmp_path, data) in result.stderr, result.stderr
    assert not (tmp_path / "new.db").exists()  # refused before any store is written


def test_debug_shows_the_traceback_too(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "a-dir").mkdir()
    plain = run_cli("status", "--store", str(tmp_path / "a-dir"))
    debug = run_cli("status", "--store", str(tmp_path / "a-dir"), "--debug")
    assert plain.code == debug.code == 2
    assert "Traceback" not in plain.stderr and "Traceback" in debug.stderr
    assert plain.stderr.strip() in debug.stderr  # the same message, after the traceback
