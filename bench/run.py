"""``make bench``: run the benchmark suite, write ``bench/results/<name>.json``, print a table.

usage: python -m bench.run [--quick] [--only NAME[,NAME...]] [--results DIR]

Benchmarks (names for --only): plumbing, store, replay, memory, latency, startup, portfolio, sweep.
``--quick`` is a smoke run (small sizes, one repeat) whose figures are not comparable to a full run.
See docs/benchmarks.md for what each figure means and how the pipeline is driven.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    RESULTS_DIR,
    Figure,
    real_data_path,
    result_document,
    scratch_dir,
    table,
    tmpfs_dir,
    write_result,
)


@dataclass(frozen=True, slots=True)
class Sizes:
    repeats: int
    plumbing_items: int
    store_durable: int
    store_batched: int
    memory_bars: tuple[int, int]
    latency_decisions: int
    latency_sessions: int
    startup_repeats: int


FULL = Sizes(repeats=3, plumbing_items=200_000, store_durable=1_000, store_batched=100_000,
             memory_bars=(100_000, 1_000_000), latency_decisions=10_000, latency_sessions=10,
             startup_repeats=10)
QUICK = Sizes(repeats=1, plumbing_items=20_000, store_durable=200, store_batched=10_000,
              memory_bars=(10_000, 50_000), latency_decisions=200, latency_sessions=2, startup_repeats=3)


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_plumbing(sizes: Sizes, work: Path) -> dict[str, Any]:
    from bench.plumbing import HOPS, STAGES, measure

    figures = measure(sizes.plumbing_items, sizes.repeats)
    return result_document("plumbing", figures, params={
        "items": sizes.plumbing_items, "stages": STAGES, "hops": HOPS, "capacity": 1024,
        "repeats": sizes.repeats,
    }, notes=[
        "4 stages (source, 2 pass-through, sink) joined by 3 bounded streams of capacity 1024; "
        "each stage does one tuple operation per item, so the figure is the cost of moving items.",
        "channel_fast_path = tradebot.pipeline.channel (send_nowait/receive_nowait, await only when "
        "full/empty); anyio_await_send = await send()/async for on anyio memory object streams; "
        "asyncio_queue = await put()/get(); plain_loop = the same per-item calls without stages.",
    ])


def bench_store(sizes: Sizes, work: Path) -> dict[str, Any]:
    from bench.store_bench import batched_appends_per_s, durable_appends_per_s

    places = {"disk": work}
    shm = tmpfs_dir()
    if shm is not None:
        places["tmpfs"] = shm
    figures: list[Figure] = []
    for place, base in places.items():
        durable = Figure(f"durable_appends_per_s_{place}", "appends/s",
                         note="await append_durable one after another, durable_sync=full "
                              "(the order write-ahead)")
        batched = Figure(f"batched_appends_per_s_{place}", "appends/s",
                         note="append + await wait_capacity per event, then flush "
                              "(how bars/decisions are recorded)")
        for i in range(sizes.repeats):
            with scratch_dir("store", base) as tmp:
                durable.add(durable_appends_per_s(tmp / f"d{i}.db", sizes.store_durable))
                batched.add(batched_appends_per_s(tmp / f"b{i}.db", sizes.store_batched))
        figures += [durable, batched]
    return result_document("store", figures, params={
        "durable_appends": sizes.store_durable, "batched_appends": sizes.store_batched,
        "repeats": sizes.repeats, "places": {k: str(v) for k, v in places.items()},
    }, notes=["EventWriter.open(path, durable_sync='full'): WAL; batches holding an append_durable event "
              "are committed with synchronous=FULL (fsync), others with synchronous=NORMAL."])


def bench_replay(sizes: Sizes, work: Path) -> dict[str, Any]:
    from bench.config import busy_settings, default_settings
    from bench.harness import run_replay

    data = real_data_path()
    shm = tmpfs_dir()
    workloads = {"default": default_settings(work / "default-runs"),
                 "busy": busy_settings(work / "busy-config", profile="aggressive")}
    plan = [("default", "disk"), ("default", "tmpfs"), ("default", "encode_only"), ("default", "off"),
            ("busy", "tmpfs"), ("busy", "off")]
    figures: dict[str, Figure] = {}
    counts: dict[str, Any] = {}
    _log("replay: warm-up run (imports, exchange calendars)")
    with scratch_dir("warm", shm) as tmp:
        run_replay(workloads["default"], data, tmp / "warm.db", mode="tmpfs")
    for _ in range(sizes.repeats):
        for workload, mode in plan:
            base = work if mode == "disk" else shm
            if mode == "tmpfs" and shm is None:
                continue
            with scratch_dir("replay", base) as tmp:
                seconds, probe = run_replay(workloads[workload], data, tmp / "store.db", mode=mode)
            stats = probe.stats
            name = f"real_week_{workload}_store_{mode}"
            figures.setdefault(name, Figure(f"{name}_bars_per_s", "bars/s")).add(stats.bars / seconds)
            counts[name] = {"bars": stats.bars, "signals": stats.signals, "intents": stats.intents,
                            "orders": stats.orders, "fills": stats.fills,
                            "end_summary_s": round(probe.summary_s, 4)}
            _log(f"replay {name}: {stats.bars / seconds:,.0f} bars/s ({stats.orders} orders)")
    per_bar = Figure("real_week_default_store_disk_us_per_bar", "µs", better="lower")
    per_bar.runs = [1e6 / v for v in figures["real_week_default_store_disk"].runs]
    return result_document("replay", [*figures.values(), per_bar], params={
        "data": str(data), "repeats": sizes.repeats, "workloads": {
            "default": "config/tradebot.toml + config/constitution.yaml as shipped (MES, CME calendar)",
            "busy": "bench/config.py: BENCH 24/7, aggressive profile, every default gate on, wide limits",
        },
    }, notes=[
        "In-process run_session(mode=replay) after one warm-up run; the time excludes the end-of-run "
        "summary (a full read of the store, listed as end_summary_s) and the interpreter start.",
        "store_disk: event store and the simulated venue's state file in a temp dir on the disk; "
        "store_tmpfs: both on /dev/shm; store_off: the event store replaced by a null writer (bench hook: "
        "the pipeline has no such switch), venue state on /dev/shm; store_encode_only: like off but every "
        "body is still encoded with the store's codec.",
    ], extra={"runs": counts})


def bench_memory(sizes: Sizes, work: Path) -> dict[str, Any]:
    from bench.memory import replay_child
    from bench.synth import write_synthetic

    shm = tmpfs_dir()
    figures: list[Figure] = []
    runs: dict[str, Any] = {}
    for bars in sizes.memory_bars:
        data = write_synthetic(real_data_path(), bars, work / f"synthetic_{bars}.csv")
        _log(f"memory: replay of {bars:,} bars in a child process (store on {'tmpfs' if shm else 'disk'})")
        with scratch_dir("memory", shm or work) as tmp:
            run = replay_child(data, tmp / "store.db")
            store_mb = sum(p.stat().st_size for p in tmp.iterdir() if p.is_file()) / 2**20
        if run.returncode != 0:
            raise RuntimeError(f"tradebot replay of {bars} bars failed ({run.returncode}): {run.stderr}")
        rss = Figure(f"peak_rss_mb_{bars}", "MB", better="lower")
        rss.add(run.peak_rss_mb)
        rate = Figure(f"replay_bars_per_s_{bars}", "bars/s", note="whole child process: start-up to summary")
        rate.add(bars / run.seconds)
        figures += [rss, rate]
        runs[str(bars)] = {"seconds": run.seconds, "store_mb": round(store_mb, 1)}
        _log(f"memory: {bars:,} bars: {run.peak_rss_mb:.1f} MB peak RSS, {bars / run.seconds:,.0f} bars/s")
        data.unlink()
    return result_document("memory", figures, params={
        "bars": list(sizes.memory_bars), "store": "tmpfs" if shm else "disk",
        "synthetic": "bench/synth.py: the real ES week's bar shapes chained, 1 min apart, "
                     "mirrored every pass",
    }, notes=["One child per size (tradebot replay --quiet, shipped config); "
              "peak RSS = the child's own VmHWM (bench/rss_probe.py). "
              "The store is on tmpfs so that a 1M-bar run finishes in minutes (on disk the simulated venue "
              "fsyncs its state file every bar); tmpfs files do not count in the process RSS."],
        extra={"runs": runs})


def bench_latency(sizes: Sizes, work: Path) -> dict[str, Any]:
    from bench.config import busy_settings
    from bench.latency import figures as latency_figures
    from bench.latency import run_latency
    from bench.synth import write_synthetic

    shm = tmpfs_dir()
    settings = busy_settings(work / "latency-config", profile="aggressive", source="broker")
    per_session = max(1, sizes.latency_decisions // sizes.latency_sessions)
    data = write_synthetic(real_data_path(), 40_000, work / "latency_bars.csv")
    # (figure prefix, store directory, settle): settle = the next bar comes once the store is idle, as in
    # live trading (a bar a minute); back_to_back = the next bar at once, the writer thread still busy
    plan = [("store_disk", work, True), *([("store_tmpfs", shm, True), ("back_to_back_tmpfs", shm, False)]
                                          if shm else [("back_to_back_disk", work, False)])]
    figures: list[Figure] = []
    meta: dict[str, Any] = {}
    for prefix, base, settle in plan:
        samples: list[int] = []
        segments: dict[str, list[int]] = {}
        bars = 0
        for session in range(sizes.latency_sessions):
            with scratch_dir("latency", base) as tmp:
                probe = run_latency(settings, data, tmp / "store.db", per_session, settle=settle)
            samples += probe.samples_ns
            for name, values in probe.segments_ns.items():
                segments.setdefault(name, []).extend(values)
            bars += probe.bars
            _log(f"latency {prefix}: session {session + 1}/{sizes.latency_sessions}: "
                 f"{len(probe.samples_ns)} decisions over {probe.bars} bars")
        figures += latency_figures(prefix, samples, segments)
        meta[prefix] = {"decisions": len(samples), "bars": bars, "settle": settle,
                        "segmented": len(segments.get("to_oms", []))}
    data.unlink()
    return result_document("latency", figures, params={
        "decisions_per_session": per_session, "sessions": sizes.latency_sessions,
        "workload": "busy (bench/config.py), aggressive profile, live mode, simulated venue, WallClock",
    }, notes=[
        "Bar handed to ingest (the venue's bar source yields it) -> broker.submit called; "
        "time.perf_counter_ns in bench-side wrappers. Closed loop: the next bar is handed over when the "
        "decision stage finished the previous one (no queueing) and, for store_*, once the event store has "
        "committed what that bar recorded (live bars are a minute apart: the writer thread is idle when "
        "the next one comes); back_to_back_* hands it over at once, so the writer thread's commit of the "
        "previous bar competes with the next decision for the GIL and the store. Several fresh sessions of "
        "decisions_per_session each, pooled (the simulated venue's per-bar work grows with every order it "
        "has ever seen, so one very long session would measure that instead).",
        "store_disk includes the OMS write-ahead committed with synchronous=FULL (an fsync) before submit; "
        "store_tmpfs is the same with the store on /dev/shm.",
        "*_to_oms / *_write_ahead / *_to_broker p50: each sample cut at the OMS's submit and at the order's "
        "write-ahead committed (ingest and the decision; the durable write-ahead; the recorder's and the "
        "OMS's work after it, up to broker.submit).",
    ], extra={"samples": meta})


def bench_startup(sizes: Sizes, work: Path) -> dict[str, Any]:
    from bench.startup import help_seconds, imported_modules_of_help, observe_first_bar_seconds

    help_fig = Figure("help_ms", "ms", better="lower")
    first_bar = Figure("observe_first_bar_ms", "ms", better="lower")
    help_seconds()  # page cache warm
    for _ in range(sizes.startup_repeats):
        help_fig.add(help_seconds() * 1000)
    for i in range(max(1, sizes.startup_repeats // 2)):
        with scratch_dir("startup", work) as tmp:
            first_bar.add(observe_first_bar_seconds(tmp / f"s{i}.db") * 1000)
    import_s, sdks, top = imported_modules_of_help()
    return result_document("startup", [help_fig, first_bar], params={"repeats": sizes.startup_repeats},
                           notes=["tradebot --help and tradebot run --mode observe --store TMP --quiet as "
                                  "subprocesses from the repo root; first bar = first committed 'bar' event "
                                  "seen by polling the store every 2 ms."],
                           extra={"help_imports": {"total_s": import_s, "broker_sdks_imported": sdks,
                                                   "slowest_top_level": top}})


def bench_portfolio(sizes: Sizes, work: Path) -> dict[str, Any]:
    """Per-bar cost and peak RSS with 1, 10 and 100 instruments in one replay (bench/portfolio_scale.py)."""
    from bench.portfolio_scale import measure

    return measure(300, [1, 10]) if sizes.repeats == 1 else measure(2000, [1, 10, 100])


def bench_sweep(sizes: Sizes, work: Path) -> dict[str, Any]:
    """Research sweep cells/s on a local Ray with 1 and 2 workers (bench/sweep_scaling.py)."""
    from bench.sweep_scaling import measure

    return measure(work, quick=sizes.repeats == 1, repeats=sizes.repeats)


BENCHMARKS: dict[str, Callable[[Sizes, Path], dict[str, Any]]] = {
    "plumbing": bench_plumbing,
    "store": bench_store,
    "replay": bench_replay,
    "startup": bench_startup,
    "latency": bench_latency,
    "memory": bench_memory,
    "portfolio": bench_portfolio,
    "sweep": bench_sweep,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes, one repeat")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="where the JSON files go")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    sizes = QUICK if args.quick else FULL
    documents = []
    failed = []
    for name in names:
        _log(f"{name}: start")
        start = time.perf_counter()
        with scratch_dir(name) as work:
            try:
                doc = BENCHMARKS[name](sizes, work)
            except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others' results
                _log(f"{name}: FAILED: {exc!r}")
                failed.append(name)
                continue
        doc["params"]["quick"] = args.quick
        doc["elapsed_s"] = round(time.perf_counter() - start, 2)
        path = write_result(doc, args.results)
        documents.append(doc)
        _log(f"{name}: done in {doc['elapsed_s']} s -> {path}")
    print(table(documents))
    if failed:
        print(f"\nFAILED: {', '.join(failed)} (see stderr)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
