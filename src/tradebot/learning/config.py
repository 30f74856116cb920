"""``[learning]``: bounded post-trade learning (what it may move, by how much a day, for how long).

Off unless ``enabled``; never in live mode unless ``allow_live``. Unknown keys are errors.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LearningConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False  # the session close learns (one more close step) and the run applies overrides
    allow_live: bool = False  # in live mode learning neither runs nor applies unless this is true too
    apply_overrides: bool = True  # the run applies the overrides in force at startup
    path: Path | None = None  # the overrides file; None: <run_dir>/learning/learned_overrides.json
    # the daily bounds: a bps parameter moves at most this many bps a session day, a share at most this share
    max_daily_delta_bps: Decimal = Field(Decimal(3), gt=0, le=100)
    max_daily_delta_frac: Decimal = Field(Decimal("0.05"), gt=0, le=1)
    max_override_age_days: int = Field(30, gt=0, le=365)  # an override older than this is dropped
    window_days: int = Field(20, gt=0, le=365)  # the trailing evidence: TCA records and trades this recent
    # triggers
    is_bps_trigger: Decimal = Field(Decimal(18), gt=0)  # median implementation shortfall above this (bps)
    min_tca_samples: int = Field(20, gt=0)  # filled orders of the symbol in the window before IS is judged
    flip_rate_trigger: Decimal = Field(Decimal("0.25"), gt=0, le=1)  # flips / closed trades
    min_trades: int = Field(20, gt=1)  # closed trades of the symbol in the window before flips are judged
    # what learning may adjust
    adjust_cost_buffer: bool = True  # the constitution's liquidity.entry_cost_buffer_bps, per symbol
    adjust_deadband: bool = True  # the ensemble's min_direction, per symbol and sleeve
    adjust_confirmation: bool = True  # the ensemble's min_agreement, per symbol and sleeve
    # hard bounds: a learned value never goes above these
    max_cost_buffer_bps: Decimal = Field(Decimal(30), ge=0, le=1000)
    max_deadband: float = Field(0.6, ge=0, le=1)
    max_confirmation: float = Field(1.0, ge=0, le=1)

    @model_validator(mode="after")
    def _windows(self) -> LearningConfig:
        if self.window_days > self.max_override_age_days:
            raise ValueError(
                f"window_days ({self.window_days}) is longer than max_override_age_days "
                f"({self.max_override_age_days}): evidence older than an override's life would move it"
            )
        return self

    def overrides_path(self, run_dir: Path) -> Path:
        return self.path if self.path is not None else run_dir / "learning" / "learned_overrides.json"
