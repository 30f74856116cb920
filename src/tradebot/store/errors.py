"""Store failures. A write failure halts trading: nothing may trade on without a record.

Every ``StoreError`` message names the store file; ``hint`` says what the user can do about it (the
command line prints both, with the exit code STORE_UNUSABLE, or ALREADY_RUNNING for ``StoreLocked``).
"""

from __future__ import annotations

import errno
import sqlite3

from tradebot.domain import reasons


class StoreError(Exception):
    """The store file cannot be used (not a store, unknown schema, locked by another writer)."""

    hint = "point --store/--out at a tradebot event store, or at a new file to start one"


class StoreWriteFailed(StoreError):
    """The writer could not commit; it accepts nothing more. Carries the STORE_WRITE_FAILED reason code."""

    code = reasons.STORE_WRITE_FAILED
    hint = (
        "make room (or make the store writable) and run the same command again: the run resumes after "
        "the last stored bar"
    )


class StoreLocked(StoreError):
    """Another writer (in this process or another) holds the store."""

    hint = "wait for the other run to finish (or stop it), or give this run another --store/--out"


class StoreDamaged(StoreError):
    """The file is not a readable tradebot event store: empty, truncated, overwritten or corrupt."""

    hint = (
        "the file was left as it is; keep it for recovery (sqlite3 can .recover it) and give a run a "
        "new --store/--out"
    )


class StoreEmpty(StoreDamaged):
    """An empty file where a store should be: nothing was ever recorded in it, or it lost everything."""

    hint = "delete the empty file to start a new store there, or give another --store/--out"


class StoreUnwritable(StoreError):
    """The store (or its directory) cannot be written: a read-only filesystem, no permission, disk full."""

    hint = (
        "nothing in the store was changed; make its directory writable (or free disk space) and run the "
        "same command again"
    )


_FULL = ("disk is full", "disk i/o error")
_READ_ONLY = ("readonly database", "read-only", "unable to open database file", "permission denied")


def describe_sqlite_error(path: object, exc: BaseException, action: str) -> StoreError:
    """The StoreError ``exc`` (an sqlite3 or OS error met while ``action``) means for the store ``path``."""
    text = str(exc)
    lowered = text.lower()
    number = exc.errno if isinstance(exc, OSError) else None
    if number in (errno.ENOSPC, errno.EDQUOT) or any(word in lowered for word in _FULL):
        return StoreUnwritable(f"{path}: {action}: the disk is full ({text})")
    if number in (errno.EROFS, errno.EACCES, errno.EPERM) or any(word in lowered for word in _READ_ONLY):
        return StoreUnwritable(f"{path}: {action}: not writable ({text})")
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return StoreDamaged(f"{path}: {action}: the file is damaged or not an SQLite database ({text})")
    return StoreError(f"{path}: {action}: {text}")
