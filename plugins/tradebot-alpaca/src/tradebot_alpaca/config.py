"""The ``[broker.alpaca]`` config table: validated, unknown keys refused, secrets read from env vars."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from tradebot.ops.secrets import load_secret

TRADING_URLS = {"paper": "https://paper-api.alpaca.markets", "live": "https://api.alpaca.markets"}
TRADING_STREAM_URLS = {
    "paper": "wss://paper-api.alpaca.markets/stream",
    "live": "wss://api.alpaca.markets/stream",
}
DATA_URL = "https://data.alpaca.markets"
DATA_STREAM_URL = "wss://stream.data.alpaca.markets/v2/{feed}"


class AlpacaConfig(BaseModel):
    """Everything the adapter needs except the secrets, which come from the env vars named here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: Literal["paper", "live"] = "paper"
    key_id_env: str = "APCA_API_KEY_ID"
    secret_key_env: str = "APCA_API_SECRET_KEY"
    trading_url: str | None = None  # REST base without /v2, e.g. http://127.0.0.1:8080
    data_url: str | None = None  # market-data REST base without /v2
    data_stream_url: str | None = None  # full ws URL, e.g. ws://127.0.0.1:8080/v2/iex
    trading_stream_url: str | None = None  # full ws URL, e.g. ws://127.0.0.1:8080/stream
    data_feed: Literal["iex", "sip"] = "iex"
    extended_hours: bool = False  # allow DAY limit orders in pre/post market
    symbols: tuple[str, ...] = ()  # subscribed to bars at connect
    # and to best bid/ask at connect, for the run's TCA (spread measured, not a proxy); SIP quotes of a busy
    # symbol are thousands of messages a second: false leaves the TCA on its proxy
    stream_quotes: bool = True
    calendar_check: bool = True  # cross-check the venue clock with the XNYS calendar
    clock_cache_s: float = Field(default=30.0, ge=0)
    rest_retry_attempts: int = Field(default=3, ge=0, le=10)  # alpaca-py's own retry of 429/504
    rest_retry_wait_s: float = Field(default=3.0, ge=0)
    rest_concurrency: int = Field(default=4, ge=1, le=32)
    stream_reconnect_min_s: float = Field(default=1.0, gt=0)
    stream_reconnect_max_s: float = Field(default=30.0, gt=0)
    stream_restart_s: float = Field(default=2.0, gt=0)  # wait before restarting a crashed stream task
    queue_size: int = Field(default=10_000, ge=16)

    @field_validator("symbols")
    @classmethod
    def _upper_symbols(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(s.strip().upper() for s in value)
        if any(not s for s in cleaned):
            raise ValueError("symbols must not contain empty names")
        return cleaned

    @property
    def trading_base(self) -> str:
        return (self.trading_url or TRADING_URLS[self.env]).rstrip("/")

    @property
    def data_base(self) -> str:
        return (self.data_url or DATA_URL).rstrip("/")

    @property
    def data_stream(self) -> str:
        return self.data_stream_url or DATA_STREAM_URL.format(feed=self.data_feed)

    @property
    def trading_stream(self) -> str:
        return self.trading_stream_url or TRADING_STREAM_URLS[self.env]


@dataclass(frozen=True, slots=True)
class Credentials:
    key_id: SecretStr
    secret_key: SecretStr

    def __repr__(self) -> str:  # never print the secrets, even by accident
        return "Credentials(key_id=**********, secret_key=**********)"


def _format_errors(exc: ValidationError, prefix: str) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(table)"
        lines.append(f"{prefix}.{where}: {err['msg']}")
    return "; ".join(lines)


def load_config(
    table: Mapping[str, Any], environ: Mapping[str, str] | None = None, prefix: str = "broker.alpaca"
) -> tuple[AlpacaConfig, Credentials]:
    """Validate the config table and read the secrets; every problem is listed at once, by key."""
    env = os.environ if environ is None else environ
    try:
        config = AlpacaConfig.model_validate(dict(table))
    except ValidationError as exc:
        raise ValueError(_format_errors(exc, prefix)) from None
    missing = [name for name in (config.key_id_env, config.secret_key_env) if not env.get(name, "").strip()]
    if missing:
        raise ValueError(
            f"{prefix}: environment variable(s) {', '.join(missing)} not set "
            f"(named by key_id_env/secret_key_env)"
        )
    # tradebot's one way to load a secret: read, stripped and registered, so it is scrubbed everywhere
    creds = Credentials(
        load_secret(f"{prefix}.key_id", env=config.key_id_env, environ=env),
        load_secret(f"{prefix}.secret_key", env=config.secret_key_env, environ=env),
    )
    return config, creds
