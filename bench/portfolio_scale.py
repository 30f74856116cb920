"""Per-bar cost against the number of instruments: 1, 10 and 100 instruments in one replay.

usage: python -m bench.portfolio_scale [--rows N] [--counts 1,10,100]

Each instrument gets its own bar file: the first ``rows`` one-minute bars of the bundled real ES week, its
prices scaled by a small per-instrument factor (kept on the 0.25 tick), under its own symbol ``Bnnn`` with the
``busy`` workload's instrument spec and constitution (every gate on, orders flowing). The replay runs in a
child process of its own (``--child``): bars/s is its bars over the replay's own time (``bench/harness.py``,
start-up and the end-of-run summary excluded), peak RSS the child's VmHWM. Writes
``bench/results/portfolio_scale.json``: the per-bar cost must not grow with the number of instruments beyond
the bars themselves.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.common import Figure, real_data_path, result_document, table, write_result
from bench.config import REPO, write_busy_config

TICK = Decimal("0.25")
_INSTRUMENT = """
[instruments.{symbol}]
venue = "SIM"
asset_class = "FUTURE"
currency = "USD"
tick_size = "0.25"
lot_step = "1"
min_qty = "1"
multiplier = "5"
calendar = "24/7"
"""


def write_instrument_file(source: list[str], path: Path, factor: Decimal) -> None:
    lines = ["ts,open,high,low,close,volume"]
    for row in source:
        ts, *prices, volume = row.split(",")
        scaled = [str((Decimal(p) * factor / TICK).quantize(Decimal(1)) * TICK) for p in prices]
        lines.append(",".join([ts, *scaled, volume]))
    path.write_text("\n".join(lines) + "\n")


def run_child(toml: Path, store: Path, feeds: list[tuple[str, Path]]) -> dict[str, float]:
    pairs = [f"{symbol}={path}" for symbol, path in feeds]
    command = [sys.executable, "-m", "bench.portfolio_scale", "--child", str(toml), str(store), *pairs]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"replay exited {done.returncode}: {done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def child(toml: Path, store: Path, pairs: list[str]) -> None:
    """In the child: the replay of ``pairs`` (SYMBOL=FILE) under ``toml``; prints one JSON line."""
    from bench.harness import run_replay
    from bench.rss_probe import peak_rss_mb
    from tradebot.settings import load_settings

    feeds = tuple((pair.split("=", 1)[0], Path(pair.split("=", 1)[1])) for pair in pairs)
    seconds, probe = run_replay(load_settings(toml), feeds, store)
    assert probe.stats is not None
    print(json.dumps({"bars": probe.stats.bars, "seconds": seconds, "bars_per_s": probe.stats.bars / seconds,
                      "orders": probe.stats.orders, "peak_rss_mb": peak_rss_mb() or 0.0}))


def measure(rows: int, counts: list[int]) -> dict[str, Any]:
    """The benchmark's JSON document: ``rows`` bars per instrument, for each number of instruments."""
    source = real_data_path().read_text().splitlines()[1:rows + 1]
    figures: list[Figure] = []
    extra: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="tradebot-bench-portfolio-") as tmp_name:
        tmp = Path(tmp_name)
        for count in counts:
            work = tmp / f"n{count}"
            toml = write_busy_config(work)
            symbols = [f"B{i:03d}" for i in range(count)]
            toml.write_text(toml.read_text() + "".join(_INSTRUMENT.format(symbol=s) for s in symbols))
            feeds: list[tuple[str, Path]] = []
            for i, symbol in enumerate(symbols):
                path = work / f"{symbol}.csv"
                write_instrument_file(source, path, Decimal(1) + Decimal(i) / 1000)
                feeds.append((symbol, path))
            run = run_child(toml, work / "s.db", feeds)
            per_bar = Figure(f"instruments_{count}_bars_per_s", "bars/s",
                             note=f"{count} instruments x {len(source)} bars")
            per_bar.add(run["bars_per_s"])
            peak = Figure(f"instruments_{count}_peak_rss_mb", "MB", better="lower")
            peak.add(run["peak_rss_mb"])
            figures += [per_bar, peak]
            extra[str(count)] = run
            print(f"{count:>4} instruments: {run['bars']:>7.0f} bars, {run['orders']:>5.0f} orders, "
                  f"{run['bars_per_s']:,.0f} bars/s, peak RSS {run['peak_rss_mb']:.0f} MB",
                  file=sys.stderr, flush=True)
    document = result_document("portfolio_scale", figures, params={"rows": rows, "counts": counts},
                               extra={"runs": extra})
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.portfolio_scale", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rows", type=int, default=2000, help="bars per instrument")
    parser.add_argument("--counts", default="1,10,100")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        toml, store, *pairs = args.child
        child(Path(toml), Path(store), pairs)
        return 0
    counts = [int(c) for c in args.counts.split(",")]
    document = measure(args.rows, counts)
    write_result(document)
    print(table([document]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
