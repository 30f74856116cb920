"""Start-up: ``tradebot --help`` wall time, and ``tradebot run --mode observe`` from launch to first bar.

Both run the installed console script in a subprocess from the repository root (so the shipped config is
found), exactly as a user would. "First bar processed" is seen from outside: the store is polled
(read-only, every 2 ms) until a ``bar`` event is committed; the polling interval and the writer's commit
are included, so the figure is an upper bound. The run is then stopped with SIGTERM (graceful).
``-X importtime`` of ``tradebot --help`` lists which broker SDKs were imported (none should be).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.config import REPO

BROKER_SDKS = ("ib_async", "ibapi", "binance", "alpaca")


def tradebot_exe() -> str:
    exe = Path(sys.executable).with_name("tradebot")
    if not exe.exists():
        raise FileNotFoundError(f"{exe} not found: is tradebot installed in this venv?")
    return str(exe)


def help_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([tradebot_exe(), "--help"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _has_bar(store: Path) -> bool:
    if not store.exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=0.05)
        try:
            return conn.execute("SELECT 1 FROM events WHERE kind = 'bar' LIMIT 1").fetchone() is not None
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def observe_first_bar_seconds(store: Path, timeout_s: float = 60.0) -> float:
    """Seconds from launching ``tradebot run --mode observe --store STORE`` to its first committed bar."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [tradebot_exe(), "run", "--mode", "observe", "--store", str(store), "--quiet"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "TRADEBOT_RUN__RUN_DIR": str(store.parent / "runs")},  # its own control socket
    )
    try:
        while True:
            if _has_bar(store):
                return time.perf_counter() - start
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                if _has_bar(store):
                    return time.perf_counter() - start
                raise RuntimeError(f"tradebot run exited ({proc.returncode}) before a bar was stored: {err}")
            if time.perf_counter() - start > timeout_s:
                raise TimeoutError(f"no bar in {store} after {timeout_s} s")
            time.sleep(0.002)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def imported_modules_of_help() -> tuple[float, list[str], list[tuple[str, float]]]:
    """(total import time in s, broker SDK modules imported, the 8 slowest top-level imports in s)."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run([sys.executable, "-X", "importtime", tradebot_exe(), "--help"], cwd=REPO, env=env,
                          check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    total_us = 0
    sdks: set[str] = set()
    top: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in parts[1]:
            continue
        cumulative_us = int(parts[1])
        name = parts[2][1:]
        module = name.strip()
        if module.split(".")[0] in BROKER_SDKS:
            sdks.add(module.split(".")[0])
        if not name.startswith(" "):  # a top-level import (depth 0)
            top.append((module, cumulative_us / 1e6))
            total_us += cumulative_us
    top.sort(key=lambda item: -item[1])
    return total_us / 1e6, sorted(sdks), top[:8]
