"""Peak RSS (and throughput) of ``tradebot replay`` in a child process, on long synthetic bar files.

Each replay runs as its own child from the repository root with the shipped config, exactly
``tradebot replay --data FILE --out STORE --quiet``, through ``bench.rss_probe``, which runs the same CLI
entry point and then records the process's own VmHWM (``ru_maxrss`` from ``wait4`` would include the
benchmark parent's peak: see bench/rss_probe.py). The child's run directory (logs, manifest, control
socket) is next to the store, so a daemon running from ``runs/`` is not disturbed.
The bars/s of these runs include start-up, the end-of-run summary (a full read of the store) and
everything else a user waits for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.config import REPO


@dataclass(frozen=True, slots=True)
class ChildRun:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stderr: str


def replay_child(data: Path, store: Path, config: Path | None = None) -> ChildRun:
    """Replay in a child whose run directory is next to ``store``; its wall time and peak RSS."""
    probe = store.parent / "rss_probe.json"
    args = [sys.executable, "-m", "bench.rss_probe", str(probe),
            "replay", "--data", str(data), "--out", str(store), "--quiet"]
    if config is not None:
        args += ["--config", str(config)]
    env = {**os.environ, "TRADEBOT_RUN__RUN_DIR": str(store.parent / "runs"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    done = subprocess.run(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                          check=False)
    seconds = time.perf_counter() - start
    stderr = done.stderr.decode(errors="replace")[-2000:]
    try:
        peak = float(json.loads(probe.read_text())["peak_rss_mb"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RuntimeError(f"no peak RSS from the child ({done.returncode}): {exc}; {stderr}") from exc
    return ChildRun(seconds, peak, done.returncode, stderr)
