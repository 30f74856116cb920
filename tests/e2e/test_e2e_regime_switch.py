"""The regime-switch torture test on real bars: the ES (CME ESZ13) morning of Friday 2013-10-11 goes chop ->
trend -> chop, and the signal ensemble's beliefs must follow it without sticking.

The three 90-bar segments were chosen by a measure, not by eye: Kaufman's efficiency ratio (net move / path
length of the closes) over consecutive 90-bar windows of the bundled week; this is the window where the middle
one trends most against its neighbours (13:49-15:19 UTC chop, ER +0.02; 15:19-16:49 trend up, ER +0.32, +8.75
points; 16:49-18:19 chop, ER 0.00). The replay starts five hours earlier (08:49) so every component is warm.

A belief is the ensemble's signal of a bar (direction in [-1, 1], with its confidence and regime); a bar
without a signal is no belief (the ensemble's thresholds held it back). Bounds follow the shipped balanced
profile's lookbacks: its slowest component reads 30 bars (EMA 30, a 30-bar z-score), so it must have caught
the trend, and dropped it, within 30 bars of a switch.
"""

from __future__ import annotations

import csv
from itertools import pairwise
from pathlib import Path

import anyio
import pytest
from e2e_helpers import SAMPLE

from tradebot.pipeline.app import RunOptions
from tradebot.pipeline.session import run_session
from tradebot.settings import load_settings
from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(300)
CHOP_1 = ("2013-10-11T13:49", "2013-10-11T15:19")
TREND = ("2013-10-11T15:19", "2013-10-11T16:49")
CHOP_2 = ("2013-10-11T16:49", "2013-10-11T18:19")
SWITCH_BARS = 30  # the slowest lookback of the balanced profile


def efficiency_ratio(closes: list[float]) -> float:
    path = sum(abs(b - a) for a, b in pairwise(closes))
    return (closes[-1] - closes[0]) / path if path else 0.0


def bars_between(start: str, end: str) -> list[dict[str, str]]:
    with SAMPLE.open() as f:
        return [row for row in csv.DictReader(f) if start <= row["ts"][:16] < end]


def replay(tmp: Path, start: str, name: str) -> dict[str, float]:
    """Replay the bundled week's bars from ``start`` to the end of the last chop; each bar's belief."""
    rows = bars_between(start, CHOP_2[1])
    data = tmp / f"{name}.csv"
    with data.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    settings = load_settings(None)
    settings = settings.model_copy(update={"run": settings.run.model_copy(update={"run_dir": tmp / "run"})})
    store = tmp / f"{name}.db"
    anyio.run(run_session, settings, RunOptions(mode="replay", data=data, store=store, quiet=True))
    with StoreReader(store) as reader:
        signals = [e.body["signal"] for e in reader.iter_events(kinds=("bar",)) if "signal" in e.body]
    return {s["bar_ts"][:16]: float(s["direction"]) for s in signals}


@pytest.fixture(scope="module")
def beliefs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    return replay(tmp_path_factory.mktemp("regime"), "2013-10-11T08:49", "whole")


def minutes(segment: tuple[str, str]) -> list[str]:
    return [row["ts"][:16] for row in bars_between(*segment)]


def test_the_segments_are_what_they_are_said_to_be() -> None:
    ratios = [
        efficiency_ratio([float(r["close"]) for r in bars_between(*s)]) for s in (CHOP_1, TREND, CHOP_2)
    ]
    assert abs(ratios[0]) < 0.1 and ratios[1] > 0.3 and abs(ratios[2]) < 0.1, ratios
    assert [len(minutes(s)) for s in (CHOP_1, TREND, CHOP_2)] == [90, 90, 90]


def test_the_belief_follows_the_trend(beliefs: dict[str, float]) -> None:
    trend = minutes(TREND)
    believed = [beliefs.get(m) for m in trend]
    first_long = next(i for i, d in enumerate(believed) if d is not None and d > 0)
    assert first_long <= SWITCH_BARS
    held = believed[SWITCH_BARS:]
    longs = sum(1 for d in held if d is not None and d > 0)
    shorts = sum(1 for d in held if d is not None and d < 0)
    assert shorts == 0  # never against the trend once it was caught
    assert longs / len(held) >= 0.5, (longs, len(held))


def test_the_belief_is_dropped_when_the_chop_returns(beliefs: dict[str, float]) -> None:
    """No stickiness: past the switch, the long belief of the trend is held on a quarter of the bars at most,
    the ensemble speaks both ways, and the last chop looks like the first one."""

    def long_share(segment: tuple[str, str]) -> float:
        bars = minutes(segment)[SWITCH_BARS:]
        return sum(1 for m in bars if beliefs.get(m, 0.0) > 0) / len(bars)

    after = [beliefs[m] for m in minutes(CHOP_2)[SWITCH_BARS:] if m in beliefs]
    assert long_share(CHOP_2) <= 0.25, long_share(CHOP_2)
    assert any(d < 0 for d in after) and any(d > 0 for d in after)
    assert long_share(CHOP_2) < long_share(TREND) / 2


def test_no_belief_outlives_its_lookbacks(beliefs: dict[str, float], tmp_path: Path) -> None:
    """A replay that starts 300 bars (ten times the slowest lookback) before the last chop believes what the
    whole replay believes there: nothing older than the lookbacks is carried."""
    fresh = replay(tmp_path, "2013-10-11T11:49", "fresh")
    chop = [m for m in minutes(CHOP_2) if m in beliefs or m in fresh]
    assert chop and all(m in beliefs and m in fresh for m in chop)
    assert max(abs(beliefs[m] - fresh[m]) for m in chop) < 1e-9
