"""``make bench-peers``: the same EMA(10)/EMA(30) crossover on the same bars in NautilusTrader, backtrader
and tradebot, in one run on one machine; writes ``bench/results/peers.json`` and prints a table.

usage: python -m bench.peers [--bars N] [--repeats R] [--venvs DIR] [--quick]

Each peer gets a throwaway virtual environment (``python3 -m venv`` under a temp dir, or under ``--venvs``
to keep and reuse them) with the pinned version from PyPI; a peer that cannot be installed or run is
recorded with its error instead of failing the run. Each engine runs as its own child process (the scripts
in ``bench/peer_scripts/``); bars/s come from the script's own timer around the engine's run, peak RSS
from the child's own VmHWM (see bench/rss_probe.py). The bars: ``bench/synth.py`` chained from the
bundled real ES week.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Figure, real_data_path, result_document, table, tmpfs_dir, write_result
from bench.config import REPO
from bench.synth import write_synthetic

SCRIPTS = Path(__file__).resolve().parent / "peer_scripts"
PEERS: dict[str, dict[str, str]] = {
    "nautilus_trader": {"requirement": "nautilus_trader==1.221.0", "script": "nautilus_ema.py"},
    "backtrader": {"requirement": "backtrader==1.9.78.123", "script": "backtrader_ema.py"},
}
DIFFERENCES = {
    "tradebot": [
        "every bar is validated (OHLC sanity, order, gaps) and recorded in the SQLite event store",
        "every gate of the default chain runs on every intent (trading state, session, constitution limits, "
        "entry policy, governor, pre-trade collar/size/duplicate/throttle) and writes a decision record",
        "each order gets a deterministic client order id and a write-ahead record before the venue sees it",
        "the sizer attaches a stop and a target (bracket legs) to each entry, placed 4,000 ticks away so "
        "they never fire (the position follows the same rule as the peers'); the legs are still placed "
        "at the simulated venue and cancelled before every exit",
        "a flip is two orders (a reduce-only exit, then an entry) where the peers send one order of 2 lots",
        "the simulated venue is a projection of the store's order events (recovered from them on resume)",
        "each order's transaction cost record is stored when it fills, and each closed trade's attribution "
        "with its closing fill",
        "money is Decimal, rounded by the instrument",
    ],
    "nautilus_trader": [
        "the timed part is engine.run() only: CSV reading and BarDataWrangler are outside (load_s)",
        "no persistence of decisions or orders (in-memory cache), no risk gates beyond its RiskEngine "
        "defaults, logging bypassed",
        "core in Rust/Cython; the strategy's on_bar is Python",
    ],
    "backtrader": [
        "CSV parsing is inside cerebro.run() (lazy feed), so it is in the timed part, as for tradebot",
        "no persistence, no risk checks; default broker fills market orders at the next bar's open",
    ],
}


def _log(message: str) -> None:
    print(f"[bench-peers {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _python3() -> str:
    base = Path(sys.base_prefix) / "bin" / "python3"
    return str(base) if base.exists() else "python3"


def make_venv(directory: Path, requirement: str) -> Path:
    """A venv at ``directory`` with ``requirement`` installed (reused if it already has it)."""
    python = directory / "bin" / "python"
    if not python.exists():
        subprocess.run([_python3(), "-m", "venv", str(directory)], check=True, capture_output=True, text=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           requirement], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"pip install {requirement} failed: {_tail(done.stderr)}")
    return python


def run_child(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{Path(args[1]).name} exited {proc.returncode}: {_tail(stderr)}")
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{Path(args[1]).name} printed no result: {_tail(stdout + stderr)}")
    result: dict[str, Any] = json.loads(lines[-1])
    # ru_maxrss of a child includes this process's own peak (Linux keeps it across exec): a floor only
    result["child_ru_maxrss_mb"] = usage.ru_maxrss / 1024
    result["child_wall_s"] = wall
    return result


def _tail(text: str, limit: int = 1500) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def plain_loop_bars_per_s(data: Path) -> float:
    """The EMA crossover rule in a bare Python loop over pre-parsed closes (no framework): the ceiling."""
    closes = [float(line.split(",")[4]) for line in data.read_text().splitlines()[1:]]
    start = time.perf_counter()
    a_fast, a_slow = 2.0 / 11, 2.0 / 31
    fast = slow = closes[0]
    side = orders = 0
    for i, close in enumerate(closes):
        fast += a_fast * (close - fast)
        slow += a_slow * (close - slow)
        if i + 1 >= 30:
            want = 1 if fast > slow else -1 if fast < slow else 0
            if want and want != side:
                side = want
                orders += 1
    elapsed = time.perf_counter() - start
    return len(closes) / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--venvs", type=Path, default=None, help="keep/reuse the peers' venvs here")
    parser.add_argument("--quick", action="store_true", help="10,000 bars, one repeat")
    parser.add_argument("--results", type=Path, default=None)
    args = parser.parse_args(argv)
    bars, repeats = (10_000, 1) if args.quick else (args.bars, args.repeats)
    with tempfile.TemporaryDirectory(prefix="tradebot-bench-peers-") as tmp_name:
        tmp = Path(tmp_name)
        venvs = args.venvs or tmp / "venvs"
        data = write_synthetic(real_data_path(), bars, tmp / f"bars_{bars}.csv")
        engines: dict[str, dict[str, Any]] = {}
        pythons: dict[str, Path] = {}
        for name, spec in PEERS.items():
            _log(f"{name}: installing {spec['requirement']} into {venvs / name}")
            try:
                pythons[name] = make_venv(venvs / name, spec["requirement"])
                engines[name] = {"requirement": spec["requirement"], "runs": []}
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                engines[name] = {"requirement": spec["requirement"], "error": str(exc)}
                _log(f"{name}: NOT AVAILABLE: {exc}")
        engines["tradebot"] = {"requirement": "this checkout", "runs": []}
        shm = tmpfs_dir()
        stores = {"disk": tmp, **({"tmpfs": shm} if shm else {})}
        for round_no in range(repeats):
            for name, python in pythons.items():
                if "error" in engines[name]:
                    continue
                try:
                    result = run_child([str(python), str(SCRIPTS / PEERS[name]["script"]), str(data)], tmp)
                    engines[name]["runs"].append(result)
                    _log(f"{name} round {round_no + 1}: {result['bars_per_s']:,.0f} bars/s, "
                         f"{result['peak_rss_mb']:.0f} MB, {result['orders']} orders")
                except (OSError, RuntimeError, ValueError) as exc:
                    engines[name]["error"] = str(exc)
                    _log(f"{name}: FAILED: {exc}")
            for place, base in stores.items():
                with tempfile.TemporaryDirectory(prefix="tb-", dir=base) as store_dir:
                    env = {**os.environ, "PYTHONPATH": str(REPO)}
                    result = run_child([sys.executable, "-m", "bench.peer_scripts.tradebot_ema", str(data),
                                         store_dir], REPO, env)
                result["store"] = place
                engines["tradebot"]["runs"].append(result)
                _log(f"tradebot (store {place}) round {round_no + 1}: {result['bars_per_s']:,.0f} bars/s, "
                     f"{result['peak_rss_mb']:.0f} MB, {result['orders']} orders")
        plain = Figure("plain_python_loop_bars_per_s", "bars/s",
                       note="EMA rule on pre-parsed closes, no framework")
        for _ in range(repeats):
            plain.add(plain_loop_bars_per_s(data))
    figures = [plain]
    for name, info in engines.items():
        runs = info.get("runs", [])
        groups: dict[str, list[dict[str, Any]]] = {}
        for run in runs:
            groups.setdefault(run.get("store", ""), []).append(run)
        for store, group in groups.items():
            suffix = f"_store_{store}" if store and store != "disk" else ""
            rate = Figure(f"{name}{suffix}_bars_per_s", "bars/s")
            rss = Figure(f"{name}{suffix}_peak_rss_mb", "MB", better="lower")
            for run in group:
                rate.add(run["bars_per_s"])
                rss.add(run["peak_rss_mb"])
            figures += [rate, rss]
    ratios: dict[str, Any] = {}
    by_name = {f.name: f for f in figures}
    ours = by_name.get("tradebot_bars_per_s")
    for peer in PEERS:
        theirs = by_name.get(f"{peer}_bars_per_s")
        if ours is not None and theirs is not None:
            ratio = Figure(f"ratio_tradebot_over_{peer}", "x",
                           note="median tradebot (store on disk) bars/s / median peer bars/s")
            ratio.add(ours.summary()["median"] / theirs.summary()["median"])
            figures.append(ratio)
            ratios[peer] = ratio.runs[0]
    doc = result_document("peers", figures, params={
        "bars": bars, "repeats": repeats, "quick": args.quick,
        "workload": "EMA(10)/EMA(30) crossover, position flipped between +1 and -1 with market orders",
    }, notes=["tradebot runs in a child process like the peers: bench/peer_scripts/tradebot_ema.py "
              "(workload busy, ensemble = trend_ema 10/30 only, store on disk unless marked tmpfs)."],
        extra={"engines": engines, "what_each_side_does": DIFFERENCES, "ratios": ratios})
    path = write_result(doc, args.results) if args.results else write_result(doc)
    _log(f"-> {path}")
    print(table([doc]))
    for name, info in engines.items():
        if "error" in info:
            print(f"{name}: not measured: {info['error'][:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
