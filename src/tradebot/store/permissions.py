"""Owner-only files and directories: what a run writes is readable by its user alone.

Modes are set explicitly (``chmod`` after creating), so they do not depend on the process umask:
files 0600, directories tradebot creates 0700. A directory that already existed is left as it is (the
run directory may be shared, e.g. ``/tmp``); only the files tradebot writes into it are made owner-only.
SQLite creates a database's ``-wal`` and ``-shm`` files with the mode of the database file, so creating
the database owner-only first is enough for them; ``owner_only_sqlite`` fixes all three of an older store.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_SIDE_FILES = ("-wal", "-shm")


def owner_only_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700 directories; an existing directory is left alone."""
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(created, DIR_MODE)
    return path


def create_owner_only(path: Path) -> None:
    """Create ``path`` as an empty 0600 file if it does not exist; make an existing one 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def owner_only(paths: Iterable[Path]) -> None:
    """Make each existing regular file of ``paths`` 0600 (missing files are skipped)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            if path.is_file() and not path.is_symlink():
                os.chmod(path, FILE_MODE)


def owner_only_sqlite(path: Path) -> None:
    """The database file and its ``-wal``/``-shm`` files, made 0600 where they exist."""
    owner_only([path, *(path.with_name(path.name + suffix) for suffix in SQLITE_SIDE_FILES)])
