"""Single instance: one running process per (account, config), enforced by an exclusive ``flock``.

The lock file is ``<run_dir>/locks/tradebot-<account>-<config hash[:16]>.lock``. It is opened without
truncation and locked with ``LOCK_EX | LOCK_NB``: a second start fails at once with ``AlreadyRunning``
(exit code ALREADY_RUNNING) and changes nothing, not even the file. Only the holder writes its pid and
start time into it. The kernel drops the lock when the holder's process dies (SIGKILL included), so a
crashed run never blocks the next one; the file itself stays (deleting it would race with a new holder).
"""

from __future__ import annotations

import fcntl
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import orjson

from tradebot.session.errors import AlreadyRunning

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def lock_path(run_dir: Path, account: str, config_hash: str) -> Path:
    """Where the instance lock of (account, config) lives."""
    if not config_hash:
        raise ValueError("instance lock: config_hash must not be empty")
    slug = _UNSAFE.sub("_", account).strip("_.") or "default"
    return Path(run_dir) / "locks" / f"tradebot-{slug}-{config_hash[:16]}.lock"


class InstanceLock:
    """``with InstanceLock(...)`` or ``async with``; ``acquire()``/``release()`` for manual use."""

    def __init__(self, run_dir: Path, account: str, config_hash: str, *, now: datetime | None = None) -> None:
        self.path = lock_path(run_dir, account, config_hash)
        self.account = account
        self.config_hash = config_hash
        self._now = now
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            raise RuntimeError(f"instance lock {self.path} is already held by this object")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            who = f" (pid {holder.get('pid')}, since {holder.get('started_at')})" if holder else ""
            raise AlreadyRunning(
                f"ALREADY_RUNNING: another tradebot holds {self.path}{who} for account "
                f"{self.account or 'default'!r} and config {self.config_hash[:16]}; "
                "this start changes nothing",
                lock=str(self.path), holder=holder) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        body = orjson.dumps({
            "pid": os.getpid(),
            "started_at": (self._now or datetime.now(UTC)).isoformat(),
            "account": self.account,
            "config_hash": self.config_hash,
        })
        os.ftruncate(fd, 0)
        os.pwrite(fd, body + b"\n", 0)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    async def __aenter__(self) -> InstanceLock:
        return self.__enter__()

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def instance_lock(run_dir: Path, account: str, config_hash: str) -> InstanceLock:
    """The instance lock for (account, config); use as ``with``/``async with`` (raises AlreadyRunning)."""
    return InstanceLock(run_dir, account, config_hash)


def _read_holder(fd: int) -> dict[str, object]:
    """What the holder wrote (best effort: the file may be mid-write or from an older format)."""
    try:
        raw = os.pread(fd, 4096, 0)
        data = orjson.loads(raw) if raw.strip() else {}
    except (OSError, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
