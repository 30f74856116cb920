"""Which store a run writes: a new one per backtest (named by its UTC start, in run order), the latest for
``--resume``, the account's one on a broker feed or in a session; refusals name what to do."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradebot.exit_codes import ExitCode
from tradebot.pipeline.app import RunRefused
from tradebot.pipeline.progress import bar_progress, data_rows
from tradebot.pipeline.store_choice import (
    changed_keys,
    choose_store,
    default_store,
    latest_store,
    new_store_path,
)

NOW = datetime(2026, 12, 2, 16, 30, 5, 123_000, tzinfo=UTC)


def test_a_new_store_is_named_by_its_utc_start_and_mode_and_never_reuses_a_name(tmp_path: Path) -> None:
    first = new_store_path(tmp_path, "replay", NOW)
    assert first == tmp_path / "stores" / "20261202T163005.123Z-replay.db"
    first.parent.mkdir()
    first.touch()
    second = new_store_path(tmp_path, "replay", NOW)  # the same millisecond: the next free name
    assert second == tmp_path / "stores" / "20261202T163005.124Z-replay.db"
    second.touch()
    assert latest_store(tmp_path) == second
    assert sorted([second, first]) == [first, second]  # names sort in run order


def test_a_backtest_without_store_or_resume_gets_a_new_store(tmp_path: Path) -> None:
    choice = choose_store(
        named=None, run_dir=tmp_path, mode="observe", resume=False, continuous=False, now=NOW
    )
    assert choice.path == tmp_path / "stores" / "20261202T163005.123Z-observe.db" and not choice.continues


def test_resume_without_a_store_to_continue_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RunRefused) as refused:
        choose_store(named=None, run_dir=tmp_path, mode="replay", resume=True, continuous=False, now=NOW)
    assert refused.value.code == ExitCode.CONFIG_ERROR
    assert f"no store to continue under {tmp_path / 'stores'}" in str(refused.value)


def test_resume_takes_the_latest_store(tmp_path: Path) -> None:
    stores = tmp_path / "stores"
    stores.mkdir()
    for name in ("20261201T090000.000Z-replay.db", "20261202T090000.000Z-observe.db"):
        (stores / name).touch()
    (stores / "20261203T090000.000Z-observe.db-wal").touch()  # not a store
    assert latest_store(tmp_path) == stores / "20261202T090000.000Z-observe.db"


def test_a_session_or_broker_run_keeps_the_accounts_store(tmp_path: Path) -> None:
    choice = choose_store(named=None, run_dir=tmp_path, mode="live", resume=False, continuous=True, now=NOW)
    assert choice.path == tmp_path / "tradebot.db"
    named = tmp_path / "mes.db"
    assert choose_store(
        named=named, run_dir=tmp_path, mode="live", resume=False, continuous=True, now=NOW
    ).path == named


def test_a_directory_for_a_store_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RunRefused, match="is a directory"):
        choose_store(named=tmp_path, run_dir=tmp_path, mode="replay", resume=False, continuous=False, now=NOW)


def test_default_store_is_the_configured_one_else_the_latest_written(tmp_path: Path) -> None:
    assert default_store(tmp_path, None) is None
    assert default_store(tmp_path, tmp_path / "x.db") == tmp_path / "x.db"
    account = tmp_path / "tradebot.db"
    account.touch()
    os.utime(account, ns=(1, 1))
    stores = tmp_path / "stores"
    stores.mkdir()
    backtest = stores / "20261202T090000.000Z-replay.db"
    backtest.touch()
    assert default_store(tmp_path, None) == backtest
    os.utime(account, ns=(2**62, 2**62))
    assert default_store(tmp_path, None) == account


def test_changed_keys_name_each_leaf_that_differs() -> None:
    stored = {"strategy": {"profile": "balanced", "sizer": "fixed"}, "broker": {"sim": {"fee_bps": 0.5}}}
    current = {"strategy": {"profile": "aggressive", "sizer": "fixed"}, "broker": {"sim": {}}, "new": 1}
    assert changed_keys(stored, current) == [
        "broker.sim.fee_bps: 0.5 -> (absent)",
        "new: (absent) -> 1",
        "strategy.profile: 'balanced' -> 'aggressive'",
    ]


class _Terminal:
    """A stream that says it is a terminal and keeps what is written to it."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.text = ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("tty", [True, False])
def test_the_progress_bar_shows_only_on_a_terminal(tty: bool) -> None:
    done = 0
    stream = _Terminal(tty)
    with bar_progress(lambda: done, total=200, stream=stream):  # type: ignore[arg-type]
        for _ in range(200):  # about a second: rich redraws (and measures the rate) four times a second
            done += 1
            time.sleep(0.005)
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", stream.text)  # without the terminal's colour codes
    if tty:
        assert "200/200" in text and "100%" in text and re.search(r"\d bars/s", text), text
    else:
        assert stream.text == ""


def test_the_progress_bar_is_off_when_quiet() -> None:
    stream = _Terminal(True)
    with bar_progress(lambda: 5, total=10, stream=stream, enabled=False):  # type: ignore[arg-type]
        pass
    assert stream.text == ""


def test_data_rows_counts_the_bars_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text("ts,open,high,low,close,volume\n1,1,1,1,1,1\n2,1,1,1,1,1\n\n")
    assert data_rows(path) == 2
    assert data_rows(tmp_path / "missing.csv") is None
