"""When a shadow set may be proposed for promotion: at least ``min_samples`` (30) closed paper trades of its
own and of the live set, and a mean post-cost return per trade at least ``min_outperformance`` (5 %) above
the live set's, relative to the live mean's size:

    outperformance = (mean_shadow − mean_live) / |mean_live|      (mean_live = 0: any mean_shadow > 0 is ∞)

Both means are over the paper records of the same bars with the same fill model and costs (``paper``), so
the comparison is like for like. A proposal says whether the set still loses after costs (beating a losing
live set is not making money). The floors cannot be lowered: fewer samples or a smaller margin is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MIN_SAMPLES = 30
MIN_OUTPERFORMANCE = Decimal("0.05")


@dataclass(frozen=True, slots=True)
class Comparison:
    name: str
    samples: int
    live_samples: int
    mean_bps: Decimal | None
    live_mean_bps: Decimal | None
    outperformance: Decimal | None  # None: no means to compare; Infinity over a zero live mean
    proposed: bool
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "set": self.name,
            "samples": self.samples,
            "live_samples": self.live_samples,
            "mean_net_bps": None if self.mean_bps is None else str(self.mean_bps),
            "live_mean_net_bps": None if self.live_mean_bps is None else str(self.live_mean_bps),
            "outperformance": None if self.outperformance is None else str(self.outperformance),
            "proposed": self.proposed,
            "why": self.why,
        }


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.0001")) if values else None


def compare(
    name: str,
    shadow: Sequence[Decimal],
    live: Sequence[Decimal],
    *,
    min_samples: int = MIN_SAMPLES,
    min_outperformance: Decimal = MIN_OUTPERFORMANCE,
) -> Comparison:
    if min_samples < MIN_SAMPLES or min_outperformance < MIN_OUTPERFORMANCE:
        raise ValueError(
            f"a promotion needs at least {MIN_SAMPLES} samples and {MIN_OUTPERFORMANCE:%} better"
        )
    mean, live_mean = _mean(shadow), _mean(live)
    if len(shadow) < min_samples or len(live) < min_samples:
        counts = f"{len(shadow)} of the set, {len(live)} of the live set"
        why = f"too few samples: {counts} (need {min_samples} each)"
        return Comparison(name, len(shadow), len(live), mean, live_mean, None, False, why)
    assert mean is not None and live_mean is not None
    if live_mean == 0:
        ratio = Decimal("Infinity") if mean > 0 else Decimal(0)
    else:
        ratio = ((mean - live_mean) / abs(live_mean)).quantize(Decimal("0.0001"))
    proposed = ratio >= min_outperformance and mean > live_mean
    numbers = f"{mean} bps a trade against the live set's {live_mean} ({len(shadow)} and {len(live)} trades)"
    if not proposed:
        why = f"not {min_outperformance:.0%} better: {numbers}, {ratio:.2%}"
    else:
        why = f"{ratio:.2%} better: {numbers}"
        if mean <= 0:
            why += "; it still loses after costs"
    return Comparison(name, len(shadow), len(live), mean, live_mean, ratio, proposed, why)
