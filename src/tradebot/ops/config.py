"""The ``[ops]`` config section (mount as ``ops: OpsConfig = OpsConfig()`` in ``Settings``).

Defaults: breakers 3/60 s -> 60 s and 10/10 min -> 900 s, bounded read retries, at most
2 cancel-alls a minute, metrics off, no notifications. Notification URLs are ``SecretStr`` (they carry
tokens); ``${NAME}`` in one is read from the environment variable ``NAME`` when the config is loaded, so
a missing variable or a URL apprise cannot use is a config error naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
)

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
    # apprise URLs (tgram://, slack://, discord://, mailto://, json://...); ${NAME} from the environment
    notify_urls: tuple[SecretStr, ...] = ()
    notify_rate_limit_s: float = Field(300.0, ge=0)  # per alert code, in pipeline time
    notify_timeout_s: float = Field(5.0, gt=0, le=60)  # per connect and per read
    webhook_url: SecretStr | None = None  # an http(s) URL: sent as apprise json(s):// (prefer notify_urls)
    webhook_timeout_s: float = Field(5.0, gt=0, le=60)
    rejects_threshold: int = Field(3, ge=1)
    rejects_window_s: float = Field(600.0, gt=0)
    stale_after_s: float = Field(180.0, gt=0)
    repeat_after_s: float = Field(300.0, ge=0)

    @field_validator("notify_urls")
    @classmethod
    def _notify_urls_usable(cls, urls: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        """Every URL expands (the variables it names are set) and names a service apprise knows."""
        for i, url in enumerate(urls):
            _check_url(url, f"notify_urls[{i}]", webhook=False)
        return urls

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url_usable(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None:
            _check_url(url, "webhook_url", webhook=True)
        return url


def _check_url(url: SecretStr, key: str, *, webhook: bool) -> None:
    from tradebot.ops.notify import NotifyConfigError, check_url
    from tradebot.ops.secrets import SecretsError

    try:
        check_url(url.get_secret_value(), key, webhook=webhook)
    except (NotifyConfigError, SecretsError) as exc:
        raise ValueError(str(exc)) from exc


class MetricsConfig(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)


class LogConfig(_Section):
    dir: Path | None = None  # None: the run directory
    console_level: LogLevel = "INFO"
    file_level: LogLevel = "DEBUG"
    # loguru's own: rotate at a size ("50 MB"), an age ("1 day") or a time ("00:00"); None: never
    rotation: str | None = "50 MB"
    # loguru's own: delete rotated files older than ("14 days") or beyond a count ("10"); None: keep all
    retention: str | None = "30 days"
    color: Literal["auto", "always", "never"] = "auto"  # auto: when the console is a terminal

    @field_validator("rotation", "retention")
    @classmethod
    def _loguru_accepts(cls, value: str | None, info: ValidationInfo) -> str | None:
        """loguru parses it (a bad value is refused here, not when the run starts)."""
        from tradebot.ops.logging import check_rotation

        if value is not None:
            rotation, retention = (value, None) if info.field_name == "rotation" else (None, value)
            check_rotation(rotation, retention)
        return value


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
