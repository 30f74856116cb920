"""End-to-end tests drive the real ``tradebot`` command in a subprocess, on the bundled real data."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"


def run_env(run_dir: Path | None = None) -> dict[str, str]:
    """The environment of a test run: its own run directory (manifest, logs, control socket)."""
    env = dict(os.environ)
    env["TRADEBOT_RUN__RUN_DIR"] = str(run_dir or tempfile.mkdtemp(prefix="tradebot-run-"))
    return env


def tradebot(
    *args: str, cwd: Path = REPO, timeout: float = 240, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradebot.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or run_env(),
    )


def weeks_of(sample: Path, weeks: int, out: Path) -> Path:
    """``sample`` (one week of bars) repeated ``weeks`` times, each copy a whole week later: a longer replay
    whose bars still fall on the same weekdays and hours of the exchange calendar."""
    from datetime import datetime, timedelta

    header, *rows = sample.read_text().splitlines()
    lines = [header]
    for week in range(weeks):
        shift = timedelta(days=7 * week)
        for row in rows:
            ts, rest = row.split(",", 1)
            when = datetime.fromisoformat(ts.replace("Z", "+00:00")) + shift
            lines.append(f"{when.strftime('%Y-%m-%dT%H:%M:%SZ')},{rest}")
    out.write_text("\n".join(lines) + "\n")
    return out
