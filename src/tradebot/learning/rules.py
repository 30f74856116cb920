"""The learning rules: pure functions from (the value in force, the evidence, ``[learning]``) to a bounded
proposal. Each only ever tightens, and by at most its daily bound; none goes past its hard bound; none
relaxes (an override ends by expiring, ``max_override_age_days`` after it was set).

- cost buffer (bps, per symbol): the median implementation shortfall of at least ``min_tca_samples`` filled
  orders above ``is_bps_trigger`` (18) → + ``max_daily_delta_bps`` (3), capped at ``max_cost_buffer_bps``;
- deadband and confirmation (shares, per symbol and sleeve): the flip rate of at least ``min_trades``
  closed trades above ``flip_rate_trigger`` (0.25) → × (1 + ``max_daily_delta_frac``) (5 %), capped at
  ``max_deadband`` / ``max_confirmation``; a threshold at 0 is not moved (5 % of nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from tradebot.learning.config import LearningConfig
from tradebot.learning.metrics import SymbolEvidence

SHARE_QUANTUM = Decimal("0.000001")  # a learned share is cut (never rounded up) to this
IS_PERSISTENTLY_HIGH = "IS_PERSISTENTLY_HIGH"
FLIP_RATE_HIGH = "FLIP_RATE_HIGH"


@dataclass(frozen=True, slots=True)
class Proposal:
    value: Decimal  # the new value (never beyond the hard bound, never more than the daily bound away)
    reason: str
    metrics: dict[str, Any]


def cost_buffer_proposal(
    current: Decimal, evidence: SymbolEvidence | None, cfg: LearningConfig
) -> Proposal | None:
    """+ at most ``max_daily_delta_bps`` when IS is persistently above the trigger; None: no change."""
    if evidence is None or evidence.is_bps_median is None or evidence.filled_orders < cfg.min_tca_samples:
        return None
    if evidence.is_bps_median <= cfg.is_bps_trigger:
        return None
    target = min(current + cfg.max_daily_delta_bps, cfg.max_cost_buffer_bps)
    if target <= current:
        return None
    metrics = {**evidence.as_dict(), "trigger_bps": str(cfg.is_bps_trigger)}
    return Proposal(target, IS_PERSISTENTLY_HIGH, metrics)


def threshold_proposal(
    current: Decimal, hard_max: Decimal, evidence: SymbolEvidence | None, cfg: LearningConfig
) -> Proposal | None:
    """× (1 + at most ``max_daily_delta_frac``) when the flip rate is above the trigger; None: no change."""
    if evidence is None or evidence.flip_rate is None or evidence.closed_trades < cfg.min_trades:
        return None
    if evidence.flip_rate <= cfg.flip_rate_trigger:
        return None
    raised = (current * (1 + cfg.max_daily_delta_frac)).quantize(SHARE_QUANTUM, rounding=ROUND_DOWN)
    target = min(raised, hard_max)
    if target <= current:
        return None
    metrics = {**evidence.as_dict(), "trigger": str(cfg.flip_rate_trigger)}
    return Proposal(target.normalize(), FLIP_RATE_HIGH, metrics)
