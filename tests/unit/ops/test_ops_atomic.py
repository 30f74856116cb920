"""One atomic-write helper: the new content or the old, with the mode asked for, no temp file left; and it
is the only place in tradebot that renames a file into place."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tradebot.ops.atomic import write_atomic

SRC = Path(__file__).resolve().parents[3] / "src" / "tradebot"


def test_replaces_the_content_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_bytes(b"old")
    assert write_atomic(path, b"new") == path
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


def test_a_private_file_is_created_private_even_over_a_leftover_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    leftover = tmp_path / ".manifest.json.tmp"
    leftover.write_bytes(b"crashed half-way")
    leftover.chmod(0o644)
    write_atomic(path, b"{}", mode=0o600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not leftover.exists()


def test_a_failed_write_keeps_the_old_file_and_removes_the_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "report.csv"
    path.write_bytes(b"kept")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_atomic(path, b"lost")
    assert path.read_bytes() == b"kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv"]


def test_it_is_the_only_atomic_write_helper_in_tradebot() -> None:
    renamers = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "os.replace(" in p.read_text())
    assert renamers == ["ops/atomic.py"]
