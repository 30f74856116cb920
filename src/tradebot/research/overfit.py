"""Could the out-of-sample result be luck? Two checks, as the research literature and the best tools run them.

- ``block_bootstrap_pvalue``: the out-of-sample daily post-cost returns, demeaned (the null of no edge) and
  resampled in circular blocks (``block`` days, keeping their serial dependence); the p-value is the share of
  resamples whose mean is at least the observed mean. Seeded: the same inputs give the same p-value.
- ``deflated_sharpe``: the probabilistic Sharpe ratio of the chosen result against the Sharpe the best of
  ``trials`` tries would reach by luck alone (Bailey and López de Prado, 2014): the expected maximum of
  ``trials`` Sharpe ratios drawn with the variance seen across the tries. Below ``DSR_WARN`` with more than
  one trial, the report warns that the winner may be overfit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from tradebot.analytics.performance import probabilistic_sharpe

EULER_GAMMA = 0.5772156649015329
DSR_WARN = 0.95
BOOTSTRAP_P_WARN = 0.05


def block_bootstrap_pvalue(
    returns: Sequence[float], *, block: int = 5, resamples: int = 2000, seed: int = 0
) -> float | None:
    values = np.asarray(returns, dtype=float)
    n = len(values)
    if n < 2 * block or block <= 0:
        return None
    observed = float(values.mean())
    centred = values - observed
    rng = np.random.default_rng(seed)
    blocks = math.ceil(n / block)
    starts = rng.integers(0, n, size=(resamples, blocks))
    index = (starts[:, :, None] + np.arange(block)[None, None, :]) % n
    means = centred[index.reshape(resamples, -1)[:, :n]].mean(axis=1)
    return round(float((means >= observed).mean()), 6)


def expected_max_sharpe(trials: int, sharpe_variance: float) -> float:
    """The Sharpe the best of ``trials`` independent tries with no edge reaches on average."""
    if trials <= 1 or sharpe_variance <= 0:
        return 0.0
    z1 = stats.norm.ppf(1 - 1 / trials)
    z2 = stats.norm.ppf(1 - 1 / (trials * math.e))
    return float(math.sqrt(sharpe_variance) * ((1 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def deflated_sharpe(
    returns: Sequence[float], *, trials: int, trial_sharpes: Sequence[float] = ()
) -> dict[str, Any]:
    """``returns``: the chosen result's daily returns; ``trial_sharpes``: every try's per-day Sharpe."""
    variance = float(np.var(trial_sharpes, ddof=1)) if len(trial_sharpes) > 1 else 0.0
    benchmark = expected_max_sharpe(trials, variance)
    dsr = probabilistic_sharpe(returns, benchmark=benchmark)
    warn = trials > 1 and (dsr is None or dsr < DSR_WARN)
    return {
        "trials": trials,
        "sharpe_variance_across_trials": round(variance, 10),
        "expected_max_sharpe_by_luck": round(benchmark, 10),
        "deflated_sharpe": dsr,
        "warning": (
            f"the best of {trials} tries: deflated Sharpe {dsr} < {DSR_WARN}; the winner may be luck, "
            "not edge"
            if warn
            else None
        ),
    }


def overfit_report(
    daily: Sequence[float], *, trials: int, trial_sharpes: Sequence[float] = (), seed: int = 0, block: int = 5
) -> dict[str, Any]:
    p_value = block_bootstrap_pvalue(daily, block=block, seed=seed)
    report = {
        "days": len(daily),
        "mean_daily_return": round(float(np.mean(daily)), 10) if len(daily) else None,
        "bootstrap": {
            "block_days": block,
            "resamples": 2000,
            "seed": seed,
            "p_value": p_value,
            "luck_warning": (p_value is None or p_value > BOOTSTRAP_P_WARN),
        },
        **deflated_sharpe(daily, trials=trials, trial_sharpes=trial_sharpes),
    }
    return report


def per_day_sharpe(returns: Sequence[float]) -> float | None:
    values = np.asarray(returns, dtype=float)
    if len(values) < 2 or float(values.std(ddof=1)) == 0:
        return None
    return float(values.mean() / values.std(ddof=1))
