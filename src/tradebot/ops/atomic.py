"""Atomic file replacement: readers see the old file or the new one, never a part-written one.

``write_atomic`` writes ``data`` to a new temporary file beside ``path`` (created with ``mode``, less the
umask), flushes it to disk, renames it over ``path`` and syncs the directory so the rename survives a
power loss. If anything fails, the temporary file is removed and ``path`` is left as it was.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, mode: int = 0o666) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):  # left by a crash: created afresh so ``mode`` applies
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_directory(path.parent)
    return path


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform or filesystem can fsync a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
