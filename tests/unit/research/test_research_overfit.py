"""The overfitting checks: a block bootstrap that tells an edge from noise, and a Sharpe deflated by the
number of tries."""

from __future__ import annotations

import numpy as np

from tradebot.research.overfit import (
    block_bootstrap_pvalue,
    deflated_sharpe,
    expected_max_sharpe,
    overfit_report,
)


def _returns(mean: float, n: int = 500, seed: int = 7) -> list[float]:
    return list(np.random.default_rng(seed).normal(mean, 0.01, n))


def test_a_real_edge_has_a_small_p_value_and_noise_does_not() -> None:
    assert block_bootstrap_pvalue(_returns(0.003)) < 0.01
    noise = block_bootstrap_pvalue(_returns(0.0, seed=11))
    assert noise is not None and noise > 0.05


def test_the_bootstrap_is_seeded() -> None:
    returns = _returns(0.0005)
    assert block_bootstrap_pvalue(returns, seed=3) == block_bootstrap_pvalue(returns, seed=3)


def test_too_few_days_give_no_p_value() -> None:
    assert block_bootstrap_pvalue([0.01, 0.02, 0.0], block=5) is None


def test_more_tries_raise_the_bar_luck_alone_clears() -> None:
    assert expected_max_sharpe(1, 0.01) == 0.0
    assert 0 < expected_max_sharpe(10, 0.01) < expected_max_sharpe(1000, 0.01)


def test_the_best_of_many_tries_is_deflated_and_warned() -> None:
    returns = _returns(0.001)
    alone = deflated_sharpe(returns, trials=1)
    many = deflated_sharpe(returns, trials=200, trial_sharpes=list(np.linspace(-0.15, 0.15, 200)))
    assert alone["warning"] is None and alone["expected_max_sharpe_by_luck"] == 0.0
    assert many["deflated_sharpe"] < alone["deflated_sharpe"]
    assert many["warning"] is not None and "best of 200" in many["warning"]


def test_the_report_carries_both_checks() -> None:
    report = overfit_report(_returns(0.0), trials=4, trial_sharpes=[0.1, -0.05, 0.02, 0.0], seed=1)
    assert report["days"] == 500 and report["trials"] == 4
    assert report["bootstrap"]["p_value"] is not None and "deflated_sharpe" in report
