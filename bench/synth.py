"""A deterministic synthetic bar file of any length, made from a real week of bars.

The generator chains the real bars' relative moves: bar ``i`` of the output copies the shape of source bar
``i mod n`` (open relative to the previous close, high/low/close relative to its open, volume as is),
scaled onto the running close. Prices are rounded to the tick; OHLC stays consistent (low <= open, close
<= high); timestamps start at the source's first bar and advance by exactly one minute per bar (gaps in the
source are closed, so every bar is in sequence). Each pass over the source is mirrored (returns inverted)
on odd passes so that the price wanders around its start instead of drifting over a million bars.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

HEADER = ("ts", "open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True)
class Shape:
    """One source bar relative to the previous close: log-moves of open, and of high/low/close vs open."""

    gap: float
    high: float
    low: float
    close: float
    volume: float


def read_shapes(path: Path) -> tuple[datetime, float, list[Shape]]:
    """The first timestamp, the first close and the relative shape of every bar of a CSV bar file."""
    shapes: list[Shape] = []
    start: datetime | None = None
    first_close = 0.0
    previous_close: float | None = None
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        for line, row in enumerate(reader, start=2):
            try:
                o, h, lo, c = (float(row[k]) for k in ("open", "high", "low", "close"))
                v = float(row["volume"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}: line {line}: bad bar: {exc}") from exc
            if start is None:
                start = datetime.fromisoformat(row["ts"].replace("Z", "+00:00")).astimezone(UTC)
                first_close = o
            if previous_close is None:
                previous_close = o
            shapes.append(Shape(math.log(o / previous_close), math.log(h / o), math.log(lo / o),
                                math.log(c / o), v))
            previous_close = c
    if start is None:
        raise ValueError(f"{path}: no bars")
    return start, first_close, shapes


def synthetic_rows(source: Path, count: int, tick: float = 0.25) -> Iterator[tuple[str, ...]]:
    """``count`` CSV rows (without the header) chained from ``source``'s bars."""
    start, close, shapes = read_shapes(source)
    n = len(shapes)
    step = timedelta(minutes=1)
    ts = start
    for i in range(count):
        shape = shapes[i % n]
        mirrored = (i // n) % 2 == 1
        sign = -1.0 if mirrored else 1.0
        o = _tick(close * math.exp(sign * shape.gap), tick)
        h_move, l_move = (-shape.low, -shape.high) if mirrored else (shape.high, shape.low)
        c = _tick(o * math.exp(sign * shape.close), tick)
        h = max(_tick(o * math.exp(h_move), tick), o, c)
        lo = min(_tick(o * math.exp(l_move), tick), o, c)
        yield (ts.strftime("%Y-%m-%dT%H:%M:%SZ"), _fmt(o), _fmt(h), _fmt(lo), _fmt(c), _fmt(shape.volume))
        close = c
        ts += step


def write_synthetic(source: Path, count: int, out: Path, tick: float = 0.25) -> Path:
    """Write ``count`` synthetic bars chained from ``source`` to ``out`` (CSV with header); return ``out``."""
    if count <= 0:
        raise ValueError(f"count must be positive, got {count}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        f.write(",".join(HEADER) + "\n")
        f.writelines(",".join(row) + "\n" for row in synthetic_rows(source, count, tick))
    return out


def _tick(price: float, tick: float) -> float:
    return max(tick, round(price / tick) * tick)


def _fmt(value: float) -> str:
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text
