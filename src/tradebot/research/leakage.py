"""Leakage guards: research results must be what trading out of sample would have given.

- **Purging and embargo** (``purged_train``, ``check_folds``): a training row whose label horizon reaches into
  the test window, or into the ``embargo`` bars after it, is dropped; the train window also ends ``embargo``
  bars before the test starts. ``check_folds`` re-checks every fold a run is about to use.
- **Features from the past only** (``check_causal``): each feature is recomputed on the series cut just after
  bar t; its value at t must not change. A component that reads bar t+1 at t (or any statistic of the whole
  series) fails. Every component declares its lookback (``warmup_bars``): it must say nothing before it, and
  the check fails one that speaks earlier than it declared.
- **Fits from the train window only** (``check_fit_window``): the model artifact a fold trades must say it
  was calibrated on exactly that fold's purged train rows.

A failure raises ``LeakageError`` naming the fold, component or bar, so a run (and CI) stops loudly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tradebot.domain.bars import Bar
from tradebot.models.manifest import ArtifactManifest
from tradebot.research.windows import Fold, WindowSpec
from tradebot.signals.base import ComponentReading, SignalComponent


class LeakageError(AssertionError):
    """Information from after a decision (or from the test window) reached it."""


@dataclass(frozen=True, slots=True)
class Label:
    """What a training row is scored by, and how many bars after the row it looks (its horizon)."""

    name: str
    horizon_bars: int


# The labels research fits on today. The calibration fits the evidence distribution of the train bars (no
# future value at all); choosing a profile scores a replay of the train window, cut at its end, so every
# position is marked at the train window's last bar, never after it.
CALIBRATION_LABEL = Label("evidence_quantiles", 0)
PROFILE_CHOICE_LABEL = Label("train_replay_post_cost_return", 0)


def purged_train(train: range, test: range, *, horizon: int, embargo: int) -> range:
    """The rows of ``train`` that may be learnt from when ``test`` is held out: a row before the test whose
    label ``[i, i + horizon]`` reaches the test is purged; a row after it within ``embargo`` bars is
    embargoed. ``train`` must lie wholly before or wholly after ``test``."""
    if train.step != 1 or test.step != 1:
        raise ValueError("train and test windows are contiguous ranges")
    if len(train) == 0:
        return train
    if train.stop <= test.start:
        return range(train.start, max(train.start, min(train.stop, test.start - horizon)))
    if train.start >= test.stop:
        return range(min(train.stop, max(train.start, test.stop + embargo)), train.stop)
    raise ValueError(f"train window {train} overlaps test window {test}")


def check_folds(folds: Sequence[Fold], spec: WindowSpec) -> None:
    """Every fold's train rows end, label horizon included, ``embargo`` bars before its test window; test
    windows never overlap."""
    problems: list[str] = []
    for fold in folds:
        last_label_end = fold.train_end - 1 + spec.label_horizon
        if fold.train_end > fold.test_start - spec.embargo:
            problems.append(
                f"fold {fold.index}: train rows up to bar {fold.train_end - 1} are within the "
                f"{spec.embargo}-bar embargo before the test window (bar {fold.test_start})"
            )
        if last_label_end >= fold.test_start:
            problems.append(
                f"fold {fold.index}: the label of train bar {fold.train_end - 1} looks {spec.label_horizon} "
                f"bars ahead, to bar {last_label_end}, inside the test window from bar {fold.test_start}"
            )
    for before, after in itertools.pairwise(folds):
        if after.test_start < before.test_end:
            problems.append(f"folds {before.index} and {after.index}: test windows overlap")
    if problems:
        raise LeakageError("; ".join(problems))


def check_fit_window(manifest: ArtifactManifest, bars: Sequence[Bar], fold: Fold) -> None:
    """The artifact was calibrated on exactly the fold's purged train rows, nothing later."""
    data = manifest.training_data
    first, last = bars[fold.train_start], bars[fold.train_end - 1]
    test_start = bars[fold.test_start].ts
    problems: list[str] = []
    if data.end > last.end or data.end > test_start:
        problems.append(
            f"it was trained up to {data.end.isoformat()}, after the train window's end "
            f"{last.end.isoformat()}"
        )
    if data.start != first.ts:
        problems.append(f"its training data starts at {data.start.isoformat()}, not {first.ts.isoformat()}")
    if data.rows != fold.train_end - fold.train_start:
        problems.append(
            f"it was trained on {data.rows} rows, not the fold's {fold.train_end - fold.train_start}"
        )
    if problems:
        raise LeakageError(f"fold {fold.index}: model {manifest.version}: " + "; ".join(problems))


ComponentBuilder = Callable[[Sequence[Bar]], SignalComponent]
"""How research builds a component for a series. A component that only streams ignores the series; one
that precomputes from it (a whole-series statistic, an index lookup) is exactly what ``check_causal``
exists to catch."""


def _key(reading: ComponentReading | None) -> tuple[Any, ...] | None:
    if reading is None:
        return None
    return (reading.direction, reading.strength, tuple(sorted(reading.values.items())))


def readings(build: ComponentBuilder, bars: Sequence[Bar]) -> list[tuple[Any, ...] | None]:
    component = build(bars)
    return [_key(component.update(bar)) for bar in bars]


def check_causal(build: ComponentBuilder, bars: Sequence[Bar], points: Iterable[int]) -> None:
    """At each bar index t of ``points``: the reading at t over the whole series equals the reading at t
    of the series cut after t. Also: nothing before the declared ``warmup_bars``."""
    full = readings(build, bars)
    name = build(bars[:1]).name
    declared = build(bars[:1]).warmup_bars
    early = next((i for i, r in enumerate(full[: max(declared - 1, 0)]) if r is not None), None)
    if early is not None:
        raise LeakageError(
            f"component {name!r} declares a lookback of {declared} bars but spoke at bar {early} "
            f"({_ts(bars[early])}): its declared lookback is wrong, so folds would warm it up too little"
        )
    for t in sorted(set(points)):
        if not 0 <= t < len(bars):
            continue
        cut = readings(build, bars[: t + 1])[t]
        if cut != full[t]:
            raise LeakageError(
                f"component {name!r}: its reading at bar {t} ({_ts(bars[t])}) is {full[t]!r} with the whole "
                f"series but {cut!r} with the series cut after that bar: it uses bars after the decision"
            )


def _ts(bar: Bar) -> str:
    ts: datetime = bar.ts
    return ts.isoformat()
