"""The instance lock across real processes: concurrent starts, and a SIGKILLed holder releasing it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tradebot.exit_codes import ExitCode

HASH = "12" * 32

# A start: take the lock (exit ALREADY_RUNNING if held), say LOCKED, hold it until stdin closes.
CHILD = """
import sys
from pathlib import Path
from tradebot.session import AlreadyRunning, instance_lock
try:
    with instance_lock(Path(sys.argv[1]), "acct", sys.argv[2]):
        print("LOCKED", flush=True)
        sys.stdin.read()
except AlreadyRunning as exc:
    print(exc, file=sys.stderr, flush=True)
    sys.exit(int(exc.exit_code))
"""


def start(run_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(run_dir), HASH],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.timeout(60)
def test_two_concurrent_starts_exactly_one_runs(tmp_path: Path) -> None:
    first, second = start(tmp_path), start(tmp_path)
    procs = [first, second]
    try:
        # the loser exits by itself; the winner blocks on stdin until told to stop
        loser = None
        while loser is None:
            for proc in procs:
                try:
                    proc.wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    continue
                loser = proc
                break
        winner = second if loser is first else first
        assert loser.returncode == ExitCode.ALREADY_RUNNING
        assert loser.stdout is not None and loser.stdout.read() == ""
        assert loser.stderr is not None and "ALREADY_RUNNING" in loser.stderr.read()
        assert winner.stdout is not None and winner.stdout.readline().strip() == "LOCKED"
        assert winner.poll() is None
        winner.communicate(input="", timeout=30)
        assert winner.returncode == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.mark.timeout(60)
def test_sigkilled_holder_releases_the_lock(tmp_path: Path) -> None:
    holder = start(tmp_path)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "LOCKED"
        blocked = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), HASH], input="",
                                 capture_output=True, text=True, timeout=30)
        assert blocked.returncode == ExitCode.ALREADY_RUNNING
        assert f"pid {holder.pid}" in blocked.stderr
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        assert holder.returncode == -signal.SIGKILL
        after = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), HASH], input="",
                               capture_output=True, text=True, timeout=30)
        assert after.returncode == 0, after.stderr
        assert after.stdout.strip() == "LOCKED"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
