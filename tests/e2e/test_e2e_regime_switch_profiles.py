"""Regime switch on real bars: chop -> trend -> chop, replayed through the live pipeline, beliefs read from
the store.

The windows are found by ``regime_windows.chop_trend_chop`` on the bundled ES week (CME ESZ13, 1-minute
bars), not picked by eye: the 45-bar trend with the highest efficiency ratio x R² whose 120-bar windows on
either side are chop (ER < 0.1 and R² < 0.3), the whole span one session without a gap over 3 minutes. That
is one continuous stretch of 2013-10-07 (European morning, no splice):

    chop1  04:31 -> 06:43 UTC  ER 0.029  R² 0.220   -3.0 bps
    trend  06:43 -> 07:28 UTC  ER 0.448  R² 0.911  -38.8 bps (1673.25 -> 1666.75, steady)
    chop2  07:28 -> 09:28 UTC  ER 0.034  R² 0.015   +4.5 bps

(trend windows of 60 and 90 bars land on the same fall.) The belief on a bar is the ensemble's stored
``signal`` event for it: its sign, or none (the ensemble's reading fell short of the profile's thresholds).
Bounds come from the profile's own lookbacks (the model artifact's components): the slow EMA span ``slow``
(balanced 30, aggressive 21) is the longest directional memory besides the equal-length z-score window, so

- the trend is believed within ``slow`` bars of the trend window's start, and from then to its end on at
  least 3/4 of the bars, never against it (measured: balanced on bar 25, aggressive on bar 9; both then on
  every bar);
- back in chop the trend belief is *held* (a trend-signed bar with trend-signed beliefs on at least half of
  the last ``fast`` bars, ``fast`` the fast EMA span) for at most ``slow`` bars (measured: balanced 29, its
  last trend-signed belief; aggressive 7, then only lone bars), and after ``slow`` bars chop2 carries no
  larger share of trend-signed beliefs than chop1 did (balanced 0 of 90 and 0 of 120; aggressive 9 of 99
  against 16 of 120);
- a replay of chop2 alone, started the same warm-up (2 x the ensemble's warm-up, 226 bars) before it, gives
  the same beliefs on every bar of chop2 as the full replay: same bars, sides and volatility regimes, values
  within 1e-6 (measured 5e-9): nothing but the last bars is remembered.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from e2e_helpers import REPO, SAMPLE
from regime_windows import ChopTrendChop, chop_trend_chop, read_closes

from tradebot.models.loader import default_ensemble_params
from tradebot.pipeline.app import RunOptions
from tradebot.pipeline.session import run_session
from tradebot.settings import load_settings
from tradebot.signals.profiles import build_ensemble
from tradebot.store import StoreReader

sys.path.insert(0, str(REPO))
from bench.config import write_busy_config

pytestmark = pytest.mark.timeout(120)

TREND_BARS = 45  # 1.5 x the balanced slow EMA: long enough to be believed, then held, inside the window
CHOP_BARS = 120  # 4 x it: room for the release and a stretch of plain chop after it
VALUE_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class Replays:
    profile: str
    windows: ChopTrendChop
    times: list[Any]
    closes: list[float]
    full: dict[str, dict[str, Any]]  # bar open time (ISO) -> its stored signal
    fresh: dict[str, dict[str, Any]]


def _replay(directory: Path, profile: str, first: int, last: int) -> dict[str, dict[str, Any]]:
    """Bars ``first..last`` of the bundled week (real rows, unchanged) replayed in process; the signals."""
    directory.mkdir(parents=True)
    header, *rows = SAMPLE.read_text().splitlines()
    data = directory / "bars.csv"
    data.write_text("\n".join([header, *rows[first : last + 1]]) + "\n")
    settings = load_settings(write_busy_config(directory / "config", profile=profile))
    store = directory / "replay.db"
    options = RunOptions(mode="replay", data=data, symbol="BENCH", store=store, quiet=True)
    anyio.run(run_session, settings, options)
    with StoreReader(store) as reader:
        bars = list(reader.iter_events(kinds=("bar",)))
    signals = {e.body["signal"]["bar_ts"]: e.body["signal"] for e in bars if "signal" in e.body}
    assert len(bars) == last - first + 1
    return signals


@pytest.fixture(scope="module")
def windows() -> tuple[list[Any], list[float], ChopTrendChop]:
    times, closes = read_closes(SAMPLE)
    return times, closes, chop_trend_chop(times, closes, trend_bars=TREND_BARS, chop_bars=CHOP_BARS)


@pytest.fixture(scope="module", params=["balanced", "aggressive"])
def replays(
    request: pytest.FixtureRequest,
    windows: tuple[list[Any], list[float], ChopTrendChop],
    tmp_path_factory: pytest.TempPathFactory,
) -> Replays:
    profile = request.param
    times, closes, found = windows
    warmup = 2 * build_ensemble(profile, "BENCH").warmup_bars
    root = tmp_path_factory.mktemp(f"regime-{profile}")
    full = _replay(root / "full", profile, found.chop1.start - warmup, found.chop2.end)
    fresh = _replay(root / "fresh", profile, found.chop2.start - warmup, found.chop2.end)
    return Replays(profile, found, times, closes, full, fresh)


def _beliefs(r: Replays, start: int, end: int) -> list[int]:
    """The belief on bars start+1..end (the bars after the window's first close): +1, -1 or 0."""
    out = []
    for i in range(start + 1, end + 1):
        signal = r.full.get(r.times[i].isoformat())
        out.append(0 if signal is None else int(math.copysign(1, signal["direction"])))
    return out


def _spans(profile: str) -> tuple[int, int]:
    trend = next(c for c in default_ensemble_params(profile).components if c.name == "trend_ema")
    return int(trend.params["fast"]), int(trend.params["slow"])


def test_the_windows_are_chop_then_a_steady_trend_then_chop(
    windows: tuple[list[Any], list[float], ChopTrendChop],
) -> None:
    times, _, found = windows
    assert times[found.trend.start].isoformat() == "2013-10-07T06:43:00+00:00"
    assert (found.chop1.start, found.chop2.start) == (found.trend.start - CHOP_BARS, found.trend.end)
    assert found.trend.er > 0.4 and found.trend.r2 > 0.9
    for chop in (found.chop1, found.chop2):
        assert chop.er < 0.1 and chop.r2 < 0.3
        assert found.trend.er > 10 * chop.er


def test_the_trend_is_believed_within_the_slow_span_and_held_to_its_end(replays: Replays) -> None:
    _, slow = _spans(replays.profile)
    w = replays.windows
    side = 1 if replays.closes[w.trend.end] > replays.closes[w.trend.start] else -1
    beliefs = _beliefs(replays, w.trend.start, w.trend.end)
    onset = next((k + 1 for k, b in enumerate(beliefs) if b == side), None)
    assert onset is not None and onset <= slow, (replays.profile, onset, slow)
    held = beliefs[onset - 1 :]
    assert sum(b == side for b in held) >= 0.75 * len(held), (replays.profile, held)
    assert -side not in beliefs  # never believed against the trend while it ran


def test_back_in_chop_the_trend_belief_is_let_go_within_the_slow_span(replays: Replays) -> None:
    fast, slow = _spans(replays.profile)
    w = replays.windows
    side = 1 if replays.closes[w.trend.end] > replays.closes[w.trend.start] else -1
    chop2 = _beliefs(replays, w.chop2.start, w.chop2.end)
    # held on bar k of chop2: trend-signed there and on at least half of the ``fast`` bars ending there
    # (the trend's last bars count for chop2's first ones); a lone trend-signed bar in chop is not a hold
    tail = _beliefs(replays, w.trend.end - fast, w.trend.end) + chop2
    held = [
        k + 1
        for k in range(len(chop2))
        if chop2[k] == side and 2 * sum(b == side for b in tail[k + 1 : k + 1 + fast]) >= fast
    ]
    release = max(held, default=0)
    assert release <= slow, (replays.profile, release, slow)
    chop1 = _beliefs(replays, w.chop1.start, w.chop1.end)
    after = chop2[slow:]
    # after the release chop2 looks like chop1: no larger share of trend-signed beliefs
    assert sum(b == side for b in after) / len(after) <= sum(b == side for b in chop1) / len(chop1)


def test_a_fresh_replay_of_the_last_chop_believes_the_same(replays: Replays) -> None:
    w = replays.windows
    keys = [replays.times[i].isoformat() for i in range(w.chop2.start + 1, w.chop2.end + 1)]
    full = {k: replays.full[k] for k in keys if k in replays.full}
    fresh = {k: replays.fresh[k] for k in keys if k in replays.fresh}
    assert full and full.keys() == fresh.keys()
    for key, a in full.items():
        b = fresh[key]
        assert (a["regime"], a["profile"], a["components"].keys()) == (
            b["regime"], b["profile"], b["components"].keys()
        ), key
        assert math.copysign(1, a["direction"]) == math.copysign(1, b["direction"]), key
        values = [(a["direction"], b["direction"]), (a["confidence"], b["confidence"]), (a["atr"], b["atr"])]
        values += [(a["components"][n], b["components"][n]) for n in a["components"]]
        assert max(abs(x - y) for x, y in values) < VALUE_TOLERANCE, key

