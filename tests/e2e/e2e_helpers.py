"""End-to-end tests drive the real ``tradebot`` command in a subprocess, on the bundled real data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"


def tradebot(*args: str, cwd: Path = REPO, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradebot.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )


