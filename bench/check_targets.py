"""Check issue 11's targets against ``bench/results/*.json``: PASS / MISS / NO DATA per target.

usage: python -m bench.check_targets [--results DIR] [--strict]
Exit status 0 unless ``--strict`` and some target is missed or has no data.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, load_results

# channels a bar crosses in tradebot.pipeline.runner: ingest -> signals -> decide (the source is an iterator)
PIPELINE_HOPS = 2

Results = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Outcome:
    target: str
    status: str  # PASS | MISS | NO DATA
    detail: str


def median(results: Results, bench: str, figure: str) -> float | None:
    try:
        return float(results[bench]["figures"][figure]["median"])
    except (KeyError, TypeError, ValueError):
        return None


def _verdict(target: str, ok: bool, detail: str) -> Outcome:
    return Outcome(target, "PASS" if ok else "MISS", detail)


def replay_vs_nautilus(results: Results) -> Outcome:
    target = "replay >= 2x NautilusTrader bars/s (same workload, side by side)"
    ours = median(results, "peers", "tradebot_bars_per_s")
    theirs = median(results, "peers", "nautilus_trader_bars_per_s")
    if ours is None or theirs is None:
        return Outcome(target, "NO DATA", "run `make bench-peers`")
    ratio = ours / theirs
    return _verdict(target, ratio >= 2.0, f"tradebot {ours:,.0f} / nautilus {theirs:,.0f} = {ratio:.2f}x")


def plumbing_share(results: Results) -> Outcome:
    target = "stage plumbing < 10 % of the per-bar cost"
    hop_us = median(results, "plumbing", "channel_hop_us")
    per_bar = median(results, "replay", "real_week_default_store_disk_us_per_bar")
    if hop_us is None or per_bar is None:
        return Outcome(target, "NO DATA", "run `make bench` (plumbing and replay)")
    share = PIPELINE_HOPS * hop_us / per_bar
    return _verdict(target, share < 0.10,
                    f"{PIPELINE_HOPS} hops x {hop_us:.2f} µs / {per_bar:,.0f} µs per bar = {share:.2%}")


def latency(results: Results, pct: str, limit_us: float) -> Outcome:
    target = f"decision latency {pct} < {limit_us:,.0f} µs (store on disk)"
    value = median(results, "latency", f"store_disk_{pct}_us")
    if value is None:
        return Outcome(target, "NO DATA", "run `make bench` (latency)")
    tmpfs = median(results, "latency", f"store_tmpfs_{pct}_us")
    extra = f"; store on tmpfs: {tmpfs:,.0f} µs" if tmpfs is not None else ""
    return _verdict(target, value < limit_us, f"{value:,.0f} µs{extra}")


def rss_1m(results: Results) -> Outcome:
    target = "peak RSS < 150 MB at 1,000,000 bars"
    value = median(results, "memory", "peak_rss_mb_1000000")
    if value is None:
        return Outcome(target, "NO DATA", "run `make bench` (memory, full size)")
    return _verdict(target, value < 150.0, f"{value:.1f} MB")


def rss_flat(results: Results) -> Outcome:
    target = "peak RSS at 1,000,000 bars within 10 % of 100,000 bars"
    big = median(results, "memory", "peak_rss_mb_1000000")
    small = median(results, "memory", "peak_rss_mb_100000")
    if big is None or small is None:
        return Outcome(target, "NO DATA", "run `make bench` (memory, full size)")
    growth = big / small - 1.0
    return _verdict(target, abs(growth) <= 0.10, f"{small:.1f} MB -> {big:.1f} MB ({growth:+.1%})")


def help_time(results: Results) -> Outcome:
    target = "`tradebot --help` < 300 ms"
    value = median(results, "startup", "help_ms")
    if value is None:
        return Outcome(target, "NO DATA", "run `make bench` (startup)")
    return _verdict(target, value < 300.0, f"{value:,.0f} ms")


def first_bar_time(results: Results) -> Outcome:
    target = "observe run to first bar < 1.5 s"
    value = median(results, "startup", "observe_first_bar_ms")
    if value is None:
        return Outcome(target, "NO DATA", "run `make bench` (startup)")
    return _verdict(target, value < 1500.0, f"{value:,.0f} ms")


CHECKS: tuple[Callable[[Results], Outcome], ...] = (
    replay_vs_nautilus,
    plumbing_share,
    lambda r: latency(r, "p99", 1000.0),
    lambda r: latency(r, "p50", 200.0),
    rss_1m,
    rss_flat,
    help_time,
    first_bar_time,
)


def check(results: Results) -> list[Outcome]:
    outcomes = [fn(results) for fn in CHECKS]
    quick = sorted(name for name, doc in results.items() if doc.get("params", {}).get("quick"))
    if quick:
        outcomes.append(Outcome("results from full runs", "MISS", f"--quick results: {', '.join(quick)}"))
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.check_targets",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--strict", action="store_true", help="exit 1 if any target is missed or has no data")
    args = parser.parse_args(argv)
    outcomes = check(load_results(args.results))
    width = max(len(o.target) for o in outcomes)
    for o in outcomes:
        print(f"{o.status:8} {o.target.ljust(width)}  {o.detail}")
    bad = [o for o in outcomes if o.status != "PASS"]
    print(f"\n{len(outcomes) - len(bad)}/{len(outcomes)} targets met")
    return 1 if args.strict and bad else 0


if __name__ == "__main__":
    sys.exit(main())
