"""Walk-forward windows: rolling train and test windows over one series, counted in bars.

Fold ``k`` tests bars ``[first_test + k*step, … + test)``. Its train window is the ``train`` bars that end
``embargo`` bars before the test starts (the gap: bars too close to the test to learn from), then purged: a
training row whose label horizon reaches into the test window or the embargo after it is dropped
(``leakage.purged_train``). For daily bars a bar is a trading day, so the defaults read as 180 days of
training, 30 of test, a 30-day step and a 5-day embargo; for intraday data they are bars.

The first test window starts after at least ``warmup`` bars (the longest declared lookback of what is
tried), so every test window can be warmed up on bars before it (``fold_run.replay_start``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator


class WindowSpec(BaseModel):
    """Window lengths in bars (``--train``, ``--test``, ``--step``, ``--embargo``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    train: int = Field(180, gt=0)
    test: int = Field(30, gt=0)
    step: int = Field(30, gt=0)
    embargo: int = Field(5, ge=0)
    label_horizon: int = Field(0, ge=0)  # bars a training label looks ahead (0: the calibration has none)

    @model_validator(mode="after")
    def _step_covers_test(self) -> WindowSpec:
        if self.step < self.test:
            raise ValueError(
                f"step ({self.step}) must be at least test ({self.test}): overlapping test windows would "
                "count the same bars in several folds"
            )
        return self


@dataclass(frozen=True, slots=True)
class Fold:
    index: int
    train_start: int  # bar indices, half-open
    train_end: int  # after purging: every row in [train_start, train_end) may be learnt from
    test_start: int
    test_end: int

    def as_dict(self) -> dict[str, int]:
        return {
            "fold": self.index,
            "train_start": self.train_start,
            "train_end": self.train_end,
            "test_start": self.test_start,
            "test_end": self.test_end,
        }


def walk_forward_folds(n_bars: int, spec: WindowSpec, *, warmup: int) -> list[Fold]:
    """Every fold whose train, gap and test windows fit in ``n_bars``, the first test window after at least
    ``warmup`` bars."""
    from tradebot.research.leakage import purged_train

    first_test = max(spec.train + spec.embargo, warmup)
    folds: list[Fold] = []
    test_start = first_test
    while test_start + spec.test <= n_bars:
        test = range(test_start, test_start + spec.test)
        raw_train = range(test_start - spec.embargo - spec.train, test_start - spec.embargo)
        kept = purged_train(raw_train, test, horizon=spec.label_horizon, embargo=spec.embargo)
        if len(kept) > 0:
            folds.append(
                Fold(
                    index=len(folds),
                    train_start=kept.start,
                    train_end=kept.stop,
                    test_start=test.start,
                    test_end=test.stop,
                )
            )
        test_start += spec.step
    return folds
