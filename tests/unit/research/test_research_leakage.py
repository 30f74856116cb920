"""The leakage guards on real bars: the shipped components compute every reading from bars up to its own;
a component that peeks one bar ahead, or speaks before its declared lookback, fails loudly; a model trained
past its fold's train window is refused."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradebot.domain.bars import Bar
from tradebot.models.builder import build_artifact, read_bars_csv
from tradebot.models.recipes import DEFAULT_RECIPES
from tradebot.models.verify import verify_artifact
from tradebot.research.leakage import LeakageError, check_causal, check_fit_window
from tradebot.research.windows import WindowSpec, walk_forward_folds
from tradebot.signals.base import ComponentReading, sign
from tradebot.signals.registry import make_component
from tradebot.signals.volatility import VolatilityRegime

DATA = Path(__file__).resolve().parents[3] / "src" / "tradebot" / "data"
SAMPLE = DATA / "es_esz13_1m_2013-10-06_2013-10-11.csv"


@pytest.fixture(scope="module")
def bars() -> list[Bar]:
    return read_bars_csv(SAMPLE, "MES")[:1500]


POINTS = (0, 5, 20, 64, 200, 611, 1000, 1498)
SHIPPED = sorted(
    {(s.name, tuple(sorted(s.params.items()))) for r in DEFAULT_RECIPES.values() for s in r.components}
)


@pytest.mark.parametrize("name,params", SHIPPED, ids=[f"{n}{dict(p)}" for n, p in SHIPPED])
def test_every_shipped_component_reads_only_the_past(
    name: str, params: tuple[tuple[str, object], ...], bars: list[Bar]
) -> None:
    check_causal(lambda _series: make_component(name, dict(params)), bars, POINTS)


def test_the_volatility_regime_reads_only_the_past(bars: list[Bar]) -> None:
    check_causal(lambda _series: VolatilityRegime(), bars, POINTS)


class PeekAhead:
    """Deliberately leaky: its reading at a bar is the sign of the NEXT bar's move (a one-bar look-ahead,
    the way a feature computed on the whole file with a shift of −1 leaks)."""

    name = "peek_ahead"
    warmup_bars = 1

    def __init__(self, series: Sequence[Bar]) -> None:
        self._next = {a.ts: b.close - a.close for a, b in itertools.pairwise(series)}

    def update(self, bar: Bar) -> ComponentReading | None:
        move = self._next.get(bar.ts)
        return None if move is None else ComponentReading(sign(move), 1.0 if move else 0.0)


def test_a_component_that_peeks_one_bar_ahead_fails(bars: list[Bar]) -> None:
    with pytest.raises(LeakageError, match=r"peek_ahead.*uses bars after the decision"):
        check_causal(PeekAhead, bars, POINTS)


class WholeSeriesZScore:
    """Deliberately leaky: the close standardized by the mean of the whole series."""

    name = "whole_series_z"
    warmup_bars = 1

    def __init__(self, series: Sequence[Bar]) -> None:
        self._mean = sum(b.close for b in series) / len(series)

    def update(self, bar: Bar) -> ComponentReading | None:
        return ComponentReading(sign(bar.close - self._mean), 0.5)


def test_a_whole_series_statistic_fails(bars: list[Bar]) -> None:
    with pytest.raises(LeakageError, match="whole_series_z"):
        check_causal(WholeSeriesZScore, bars, POINTS)


def test_a_component_that_speaks_before_its_declared_lookback_fails(bars: list[Bar]) -> None:
    """A fold warms a component for its declared lookback only: one that speaks earlier than it declares
    would trade half-warm at the start of every test window."""

    class Overeager:
        name = "overeager"
        warmup_bars = 60

        def __init__(self) -> None:
            self._inner = make_component("trend_ema", {"fast": 10, "slow": 30})

        def update(self, bar: Bar) -> ComponentReading | None:
            return self._inner.update(bar)

    with pytest.raises(LeakageError, match="declares a lookback of 60 bars but spoke at bar 29"):
        check_causal(lambda _s: Overeager(), bars, ())


def test_a_model_trained_past_its_train_window_is_refused(bars: list[Bar]) -> None:
    fold = walk_forward_folds(len(bars), WindowSpec(train=600, test=200, step=200), warmup=113)[0]
    created = datetime(2026, 1, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        honest = Path(tmp) / "honest"
        train = bars[fold.train_start : fold.train_end]
        build_artifact(train, honest, version="h", created_at=created, source="es")
        check_fit_window(verify_artifact(honest), bars, fold)
        leaky = Path(tmp) / "leaky"
        past_train = bars[fold.train_start : fold.test_end]
        build_artifact(past_train, leaky, version="l", created_at=created, source="es")
        with pytest.raises(LeakageError, match=r"trained up to .* after the train window"):
            check_fit_window(verify_artifact(leaky), bars, fold)
