"""The distribution of a metric across folds (or cells): research reports it, never one best run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

QUANTILES = {"p05": 0.05, "p25": 0.25, "median": 0.5, "p75": 0.75, "p95": 0.95}


def describe(values: Sequence[float | int | None]) -> dict[str, Any]:
    """n, mean, std and variance (the stability across folds: lower is steadier), min, quantiles, max; and
    how many folds had no value (a Sharpe with no trading day, a hit rate with no trade)."""
    present = np.asarray([float(v) for v in values if v is not None], dtype=float)
    out: dict[str, Any] = {"n": len(present), "missing": len(values) - len(present)}
    if len(present) == 0:
        return out
    out["mean"] = _r(present.mean())
    out["std"] = _r(present.std(ddof=1)) if len(present) > 1 else None
    out["variance"] = _r(present.var(ddof=1)) if len(present) > 1 else None
    out["min"] = _r(present.min())
    out.update({name: _r(np.quantile(present, q)) for name, q in QUANTILES.items()})
    out["max"] = _r(present.max())
    out["share_positive"] = _r((present > 0).mean())
    return out


def distributions(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> dict[str, dict[str, Any]]:
    return {m: describe([row.get(m) for row in rows]) for m in metrics}


def _r(value: Any) -> float:
    return round(float(value), 10)
