"""Walk-forward windows: geometry, the embargo gap, purging by label horizon, and no fold ever leaks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tradebot.research.fold_run import replay_start
from tradebot.research.leakage import LeakageError, check_folds, purged_train
from tradebot.research.windows import Fold, WindowSpec, walk_forward_folds


def test_the_default_windows_on_a_daily_series() -> None:
    folds = walk_forward_folds(5849, WindowSpec(), warmup=113)
    assert len(folds) == 188
    first, second = folds[0], folds[1]
    assert (first.train_start, first.train_end, first.test_start, first.test_end) == (0, 180, 185, 215)
    assert replay_start(first, "balanced", ()) == 185 - 112  # it speaks on its 113th bar: the test's first
    assert second.test_start - first.test_start == 30 and second.train_start == 30
    assert folds[-1].test_end <= 5849


def test_a_label_horizon_purges_the_train_rows_whose_label_reaches_the_test_window() -> None:
    plain = walk_forward_folds(1000, WindowSpec(label_horizon=0), warmup=10)[0]
    purged = walk_forward_folds(1000, WindowSpec(label_horizon=12), warmup=10)[0]
    assert purged.test_start == plain.test_start
    assert purged.train_end == plain.test_start - 12  # bar test_start − 13 + 12 is the last label before it
    check_folds([purged], WindowSpec(label_horizon=12))


def test_purge_and_embargo_on_either_side_of_the_test_window() -> None:
    test = range(100, 130)
    assert purged_train(range(0, 100), test, horizon=5, embargo=3) == range(0, 95)
    assert purged_train(range(130, 200), test, horizon=5, embargo=3) == range(133, 200)  # embargo after test
    with pytest.raises(ValueError, match="overlaps"):
        purged_train(range(90, 140), test, horizon=0, embargo=0)


def test_an_overlapping_label_horizon_is_caught() -> None:
    """Folds cut for labels with no horizon, then used with labels that look 10 bars ahead: a leak."""
    folds = walk_forward_folds(1000, WindowSpec(embargo=5, label_horizon=0), warmup=10)
    with pytest.raises(LeakageError, match="looks 10 bars ahead"):
        check_folds(folds, WindowSpec(embargo=5, label_horizon=10))


def test_a_train_window_inside_the_embargo_is_caught() -> None:
    fold = Fold(index=0, train_start=0, train_end=98, test_start=100, test_end=130)
    with pytest.raises(LeakageError, match="embargo"):
        check_folds([fold], WindowSpec(embargo=5))


def test_overlapping_test_windows_are_refused() -> None:
    with pytest.raises(ValidationError, match="step"):
        WindowSpec(test=30, step=20)


@given(
    n=st.integers(50, 3000),
    train=st.integers(1, 400),
    test=st.integers(1, 100),
    extra=st.integers(0, 50),
    embargo=st.integers(0, 20),
    horizon=st.integers(0, 30),
    warmup=st.integers(0, 200),
)
def test_no_fold_leaks(
    n: int, train: int, test: int, extra: int, embargo: int, horizon: int, warmup: int
) -> None:
    spec = WindowSpec(train=train, test=test, step=test + extra, embargo=embargo, label_horizon=horizon)
    folds = walk_forward_folds(n, spec, warmup=warmup)
    check_folds(folds, spec)
    for fold in folds:
        assert 0 <= fold.train_start < fold.train_end
        assert fold.train_end - 1 + horizon < fold.test_start  # no label reaches the test window
        assert fold.train_end <= fold.test_start - embargo
        assert warmup <= fold.test_start < fold.test_end <= n


def test_the_daemon_never_imports_ray() -> None:
    """Ray is the research extra: importing the command line, a run's session and every gate loads none."""
    import subprocess
    import sys

    code = (
        "import sys, tradebot.cli, tradebot.pipeline.session, tradebot.pipeline.app, tradebot.risk.registry; "
        "print('ray' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
