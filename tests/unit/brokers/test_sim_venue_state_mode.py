"""The simulated venue's own state file (a venue used on its own, with ``state_path``) is owner-only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tradebot.brokers.sim.state import VenueStateFile


def test_the_venue_state_file_and_its_wal_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        state = VenueStateFile(tmp_path / "venue" / "state.db")
        state.load()
        state.close()
    finally:
        os.umask(old)
    files = list((tmp_path / "venue").iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files), files
    assert stat.S_IMODE((tmp_path / "venue").stat().st_mode) == 0o700
