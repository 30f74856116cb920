"""Fixtures of the bad-input corpus: the real command in a subprocess, and what a store holds.

``run_cli(*args, env=None, cwd=None)`` runs ``python -m tradebot.cli ARGS`` with its own run directory and
returns ``CliResult(code, stdout, stderr)``; it fails the test if a traceback reaches the user (stderr
holding "Traceback" without ``--debug``): whatever the input, the user sees a message.
``stored.kinds(path)`` / ``stored.bodies(path, kind)``: a store's events by kind, and the bodies of a kind.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from bad_input_helpers import REPO, SAMPLE, CliResult, RunCli, StoreView


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    def run(
        *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None, timeout: float = 240
    ) -> CliResult:
        environ = {**os.environ, "TRADEBOT_RUN__RUN_DIR": str(tmp_path / "run"), **(env or {})}
        done = subprocess.run(
            [sys.executable, "-m", "tradebot.cli", *args],
            cwd=cwd or REPO,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=environ,
        )
        result = CliResult(done.returncode, done.stdout, done.stderr)
        if "--debug" not in args:
            assert "Traceback" not in result.stderr, result.stderr[-4000:]
        return result

    return run


@pytest.fixture
def sample_lines() -> list[str]:
    """The header and the first 120 bars of the bundled sample (Sunday evening 2013-10-06, CME open)."""
    return SAMPLE.read_text().splitlines()[:121]


@pytest.fixture
def stored() -> StoreView:
    return StoreView()
