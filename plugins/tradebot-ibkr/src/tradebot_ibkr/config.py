"""The ``[broker.ibkr]`` config table, validated: unknown keys are errors naming the key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class IbkrConfig(BaseModel):
    """Where TWS / IB Gateway listens and how the adapter behaves around it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=7497, ge=1, le=65535)  # 7497 TWS paper, 7496 TWS live, 4002/4001 Gateway
    client_id: int = Field(default=17, ge=0)
    account: str = ""  # empty: the single managed account
    exchange: str = "CME"
    currency: str = "USD"
    bar_size_s: int = Field(default=60, ge=5)
    roll_days: int = Field(default=8, ge=0, le=90)  # roll to the next contract this many days before expiry
    connect_timeout: float = Field(default=4.0, gt=0)
    request_timeout: float = Field(default=4.0, gt=0)
    connect_attempts: int = Field(default=3, ge=1)  # before connect() gives up
    backoff_initial_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=60.0, gt=0)
    backoff_factor: float = Field(default=2.0, ge=1.0)
    backoff_jitter: float = Field(default=0.2, ge=0.0, le=1.0)  # +/- fraction of the delay
    nightly_restart_utc: str = "05:45"  # IB Gateway's daily restart (its "auto restart" time, in UTC)
    nightly_restart_window_min: int = Field(default=20, ge=0, le=180)
    use_rth: bool = False

    @field_validator("nightly_restart_utc")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        parts = value.split(":")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError("must be HH:MM")
        hour, minute = int(parts[0]), int(parts[1])
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError("must be HH:MM within a day")
        return value

    @field_validator("bar_size_s")
    @classmethod
    def _multiple_of_5(cls, value: int) -> int:
        if value % 5:
            raise ValueError("must be a multiple of 5 seconds (IB real-time bars are 5 s)")
        return value

    @model_validator(mode="after")
    def _backoff_order(self) -> IbkrConfig:
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("backoff_max_s must be >= backoff_initial_s")
        return self

    @property
    def restart_minute_of_day(self) -> int:
        hour, minute = self.nightly_restart_utc.split(":")
        return int(hour) * 60 + int(minute)


def load_config(raw: Mapping[str, Any]) -> IbkrConfig:
    """Validate the table; every problem is listed in one ``ValueError`` naming ``broker.ibkr.<key>``."""
    try:
        return IbkrConfig.model_validate(dict(raw))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(table)"
            if err["type"] == "extra_forbidden":
                problems.append(f"broker.ibkr.{where}: unknown key")
            else:
                problems.append(f"broker.ibkr.{where}: {err['msg']}")
        raise ValueError("invalid [broker.ibkr] config: " + "; ".join(problems)) from None
