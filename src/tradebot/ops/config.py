"""The ``[ops]`` config section (mount as ``ops: OpsConfig = OpsConfig()`` in ``Settings``).

Defaults are the seed's: breakers 3/60 s -> 60 s and 10/10 min -> 900 s, bounded read retries, at most
2 cancel-alls a minute, metrics off, no webhook. The webhook URL is a ``SecretStr`` (they carry tokens).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from tradebot.ops.alerts import AlertThresholds
from tradebot.ops.breakers import BreakerPolicy
from tradebot.ops.cancel_all import CancelAllPolicy
from tradebot.ops.retry import RetryPolicy

LogLevel = Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BreakersConfig(_Section):
    short_window_s: float = Field(60.0, gt=0)
    short_threshold: int = Field(3, ge=1)
    short_open_s: float = Field(60.0, gt=0)
    long_window_s: float = Field(600.0, gt=0)
    long_threshold: int = Field(10, ge=1)
    long_open_s: float = Field(900.0, gt=0)
    probe_timeout_s: float = Field(60.0, gt=0)


class RetryConfig(_Section):
    max_attempts: int = Field(4, ge=1, le=20)
    max_total_s: float = Field(30.0, gt=0, le=600)
    base_delay_s: float = Field(0.5, ge=0)
    max_delay_s: float = Field(8.0, ge=0)
    jitter_s: float = Field(0.25, ge=0)


class AlertsConfig(_Section):
    webhook_url: SecretStr | None = None
    webhook_timeout_s: float = Field(5.0, gt=0, le=60)
    rejects_threshold: int = Field(3, ge=1)
    rejects_window_s: float = Field(600.0, gt=0)
    stale_after_s: float = Field(180.0, gt=0)
    repeat_after_s: float = Field(300.0, ge=0)


class MetricsConfig(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)


class LogConfig(_Section):
    dir: Path | None = None  # None: the run directory
    console_level: LogLevel = "INFO"
    file_level: LogLevel = "DEBUG"


class OpsConfig(_Section):
    runtime_dir: Path | None = None  # control socket + KILL file; None: <run.run_dir>/control
    kill_file_poll_s: float = Field(1.0, gt=0, le=60)
    cancel_all_max_per_minute: int = Field(2, ge=1)
    breakers: BreakersConfig = BreakersConfig()
    retry: RetryConfig = RetryConfig()
    alerts: AlertsConfig = AlertsConfig()
    metrics: MetricsConfig = MetricsConfig()
    log: LogConfig = LogConfig()

    def breaker_policy(self) -> BreakerPolicy:
        return BreakerPolicy(**self.breakers.model_dump())

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(**self.retry.model_dump())

    def alert_thresholds(self) -> AlertThresholds:
        a = self.alerts
        return AlertThresholds(
            rejects_threshold=a.rejects_threshold,
            rejects_window_s=a.rejects_window_s,
            stale_after_s=a.stale_after_s,
            repeat_after_s=a.repeat_after_s,
        )

    def cancel_all_policy(self) -> CancelAllPolicy:
        return CancelAllPolicy(max_per_minute=self.cancel_all_max_per_minute)
