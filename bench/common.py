"""What every benchmark shares: figures (runs, median, min, max), machine info, versions, result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
KEY_DEPENDENCIES = ("anyio", "orjson", "pydantic", "exchange-calendars", "pandas", "numpy", "typer")
SCHEMA = "tradebot-bench/1"


@dataclass(slots=True)
class Figure:
    """One measured quantity: every run's value and its unit. ``better`` is "higher" or "lower"."""

    name: str
    unit: str
    runs: list[float] = field(default_factory=list)
    better: str = "higher"
    note: str = ""

    def add(self, value: float) -> None:
        self.runs.append(float(value))

    def summary(self) -> dict[str, Any]:
        if not self.runs:
            raise ValueError(f"figure {self.name!r} has no runs")
        return {
            "unit": self.unit,
            "better": self.better,
            "runs": self.runs,
            "median": statistics.median(self.runs),
            "min": min(self.runs),
            "max": max(self.runs),
            **({"note": self.note} if self.note else {}),
        }


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0..100) by the nearest-rank method on sorted values."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be in 0..100, got {pct}")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil(n * pct / 100), at least 1
    return ordered[int(rank) - 1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_total_mb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_total_mb": memory_total_mb(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "os": platform.platform(),
        "load_average_at_start": list(load) if load else None,
    }


def versions(packages: Sequence[str] = ("tradebot", *KEY_DEPENDENCIES)) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def result_document(
    name: str,
    figures: Sequence[Figure],
    *,
    params: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON document of one benchmark."""
    return {
        "schema": SCHEMA,
        "benchmark": name,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "versions": versions(),
        "params": dict(params or {}),
        "figures": {f.name: f.summary() for f in figures if f.runs},
        "notes": list(notes),
        **dict(extra or {}),
    }


def write_result(document: Mapping[str, Any], directory: Path = RESULTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{document['benchmark']}.json"
    path.write_text(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
    return path


def load_results(directory: Path = RESULTS_DIR) -> dict[str, dict[str, Any]]:
    """Every ``<name>.json`` in ``directory`` by benchmark name (unreadable files are skipped by name)."""
    results: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            print(f"bench: skipping {path}: {exc}", file=sys.stderr)
            continue
        if isinstance(doc, dict) and "benchmark" in doc:
            results[str(doc["benchmark"])] = doc
    return results


def format_value(value: float, unit: str) -> str:
    if abs(value) >= 100_000:
        return f"{value:,.0f} {unit}"
    if abs(value) >= 100:
        return f"{value:,.1f} {unit}"
    return f"{value:.3g} {unit}"


def table(documents: Sequence[Mapping[str, Any]]) -> str:
    """A plain-text table: benchmark, figure, median, min, max, runs."""
    rows = [("benchmark", "figure", "median", "min", "max", "n")]
    for doc in documents:
        for fname, fig in doc.get("figures", {}).items():
            unit = fig["unit"]
            rows.append((doc["benchmark"], fname, format_value(fig["median"], unit),
                         format_value(fig["min"], unit), format_value(fig["max"], unit),
                         str(len(fig["runs"]))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        cells = zip(row, widths, strict=True)
        lines.append("  ".join(c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(cells)))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


@contextmanager
def scratch_dir(prefix: str, base: Path | None = None) -> Iterator[Path]:
    """A temporary directory (under ``base`` if given, e.g. /dev/shm), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"tradebot-bench-{prefix}-", dir=base) as tmp:
        yield Path(tmp)


def tmpfs_dir() -> Path | None:
    """/dev/shm if it is a writable tmpfs, else None."""
    shm = Path("/dev/shm")
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and parts[1] == str(shm) and parts[2] == "tmpfs":
                return shm if os.access(shm, os.W_OK) else None
    except OSError:
        return None
    return None


def real_data_path() -> Path:
    """The bundled ES week (inside the package), else the shared copy."""
    name = "es_esz13_1m_2013-10-06_2013-10-11.csv"
    bundled = Path(__file__).resolve().parent.parent / "src/tradebot/data" / name
    if bundled.exists():
        return bundled
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / name  # ../shared beside the repo
