"""What reaches the command line becomes one or two lines and the documented exit code."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from tradebot.cli_errors import debug_requested, explain
from tradebot.exit_codes import ExitCode
from tradebot.ops import secrets
from tradebot.store import StoreDamaged, StoreLocked, StoreWriteFailed


@pytest.mark.parametrize(
    ("error", "code", "words"),
    [
        (StoreLocked("/s.db is in use by another writer"), ExitCode.ALREADY_RUNNING, "another --store/--out"),
        (StoreWriteFailed("/s.db: not written"), ExitCode.STORE_UNUSABLE, "run the same command again"),
        (StoreDamaged("/s.db: damaged"), ExitCode.STORE_UNUSABLE, "keep it for recovery"),
        (OSError(errno.ENOSPC, "No space left on device", "/run/x"), ExitCode.STORE_UNUSABLE, "/run/x"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/d"), ExitCode.CONFIG_ERROR, "cannot use /d"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), ExitCode.CONFIG_ERROR, "not UTF-8"),
        (sqlite3.DatabaseError("file is not a database"), ExitCode.STORE_UNUSABLE, "damaged"),
        (ZeroDivisionError("division by zero"), ExitCode.INTERNAL_ERROR, "--debug"),
    ],
)  # fmt: skip
def test_each_error_gets_its_exit_code_and_a_short_message(
    error: BaseException, code: ExitCode, words: str
) -> None:
    explained = explain(error)
    assert explained.code is code
    assert words in explained.message and len(explained.message.splitlines()) <= 2


def test_the_store_failure_explains_a_task_group_failure() -> None:
    group = ExceptionGroup("stages", [RuntimeError("stream closed"), StoreWriteFailed("/s.db: disk full")])
    assert explain(ExceptionGroup("run", [group])).code is ExitCode.STORE_UNUSABLE


def test_secrets_are_scrubbed_from_the_message() -> None:
    secrets.register_secret("tb-KEY-0123456789", "test")
    try:
        assert "tb-KEY-0123456789" not in explain(ValueError("bad key tb-KEY-0123456789")).message
    finally:
        secrets.REGISTRY.clear()


def test_debug_is_taken_from_anywhere_in_the_arguments() -> None:
    assert debug_requested(["status", "--debug", "--store", "x"]) == (True, ["status", "--store", "x"])
    assert debug_requested(["status"]) == (False, ["status"])
