"""Peak RSS (and throughput) of ``tradebot replay`` in a child process, on long synthetic bar files.

Each replay runs as its own child (``tradebot replay --data FILE --out STORE -q`` from the repository
root, shipped config) and its peak RSS comes from ``os.wait4`` (``ru_maxrss`` of that child alone).
The bars/s of these runs include start-up, the end-of-run summary (a full read of the store) and
everything else a user waits for.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.config import REPO
from bench.startup import tradebot_exe


@dataclass(frozen=True, slots=True)
class ChildRun:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stderr: str


def replay_child(data: Path, store: Path, config: Path | None = None) -> ChildRun:
    """Replay in a child whose run directory (logs, manifest, control socket) is next to ``store``."""
    args = [tradebot_exe(), "replay", "--data", str(data), "--out", str(store), "--quiet"]
    if config is not None:
        args += ["--config", str(config)]
    start = time.perf_counter()
    env = {**os.environ, "TRADEBOT_RUN__RUN_DIR": str(store.parent / "runs")}
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(seconds, usage.ru_maxrss / 1024, proc.returncode, stderr[-2000:])
