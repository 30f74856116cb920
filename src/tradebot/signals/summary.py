"""A compact description of a run's signals, for the run summary and the profile comparison."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from tradebot.domain.signals import Signal

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def _quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def profile_summary(signals: Iterable[Signal]) -> dict[str, Any]:
    """count, long/short counts, confidence mean and quantiles (p10..p90), signals per regime."""
    items = list(signals)
    confidences = sorted(s.confidence for s in items)
    summary: dict[str, Any] = {
        "count": len(items),
        "long": sum(1 for s in items if s.direction > 0),
        "short": sum(1 for s in items if s.direction < 0),
        "regimes": dict(sorted(Counter(s.regime for s in items).items())),
    }
    if confidences:
        summary["confidence_mean"] = round(sum(confidences) / len(confidences), 6)
        summary["confidence_quantiles"] = {
            f"p{int(q * 100)}": round(_quantile(confidences, q), 6) for q in QUANTILES
        }
    else:
        summary["confidence_mean"] = None
        summary["confidence_quantiles"] = {}
    return summary
