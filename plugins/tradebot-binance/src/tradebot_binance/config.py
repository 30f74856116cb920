"""The ``[broker.binance]`` config table: environment, base URLs, credentials, account set-up.

Credentials are never literals: the table names the environment variables that hold them
(``api_key_env`` / ``api_secret_env``); ``load_config`` reads them into ``SecretStr``. Every base URL has
an environment default and can be overridden (a local fake, a proxy, a regional endpoint).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from tradebot.ops.secrets import load_secret, register_secret


class Environment(StrEnum):
    PRODUCTION = "production"
    TESTNET = "testnet"
    DEMO = "demo"


# (spot API used by client creation, USD-M REST, USD-M websocket streams)
_DEFAULT_URLS: dict[Environment, tuple[str, str, str]] = {
    Environment.PRODUCTION: (
        "https://api.binance.com/api",
        "https://fapi.binance.com/fapi",
        "wss://fstream.binance.com/",
    ),
    Environment.TESTNET: (
        "https://testnet.binance.vision/api",
        "https://testnet.binancefuture.com/fapi",
        "wss://fstream.binancefuture.com/",
    ),
    Environment.DEMO: (
        "https://demo-api.binance.com/api",
        "https://demo-fapi.binance.com/fapi",
        "wss://fstream.binancefuture.com/",
    ),
}


class BinanceConfig(BaseModel):
    """Validated plugin config. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: Environment = Environment.TESTNET
    api_key_env: str = "BINANCE_API_KEY"
    api_secret_env: str = "BINANCE_API_SECRET"
    api_key: SecretStr | None = None  # filled by load_config from api_key_env (or a secrets file)
    api_secret: SecretStr | None = None
    api_url: str | None = None  # spot API base (…/api): ping + server time at client creation
    futures_url: str | None = None  # USD-M REST base (…/fapi)
    stream_url: str | None = None  # USD-M websocket base, trailing slash (…/)
    symbols: tuple[str, ...] = ()
    leverage: int = Field(default=5, ge=1, le=125)
    position_mode: Literal["ONE_WAY", "HEDGE"] = "ONE_WAY"
    margin_type: Literal["CROSSED", "ISOLATED"] = "CROSSED"
    quote_asset: str = "USDT"
    recv_window: int = Field(default=5000, ge=1, le=60000)
    request_timeout_s: float = Field(default=10.0, gt=0)
    listen_key_keepalive_s: float = Field(default=1800.0, gt=0)
    ws_read_timeout_s: float = Field(default=1.0, gt=0)
    reconnect_wait_s: float = Field(default=30.0, gt=0)  # bound on waiting for a stream to come back
    max_read_retries: int = Field(default=3, ge=0, le=10)
    max_backoff_s: float = Field(default=60.0, gt=0)
    weight_safety: float = Field(default=0.8, gt=0, le=1)

    @field_validator("symbols", mode="before")
    @classmethod
    def _upper_symbols(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            return tuple(str(s).upper() for s in value)
        return value

    @field_validator("stream_url")
    @classmethod
    def _trailing_slash(cls, value: str | None) -> str | None:
        if value is not None and not value.endswith("/"):
            return value + "/"
        return value

    @property
    def resolved_api_url(self) -> str:
        return (self.api_url or _DEFAULT_URLS[self.environment][0]).rstrip("/")

    @property
    def resolved_futures_url(self) -> str:
        return (self.futures_url or _DEFAULT_URLS[self.environment][1]).rstrip("/")

    @property
    def resolved_stream_url(self) -> str:
        return self.stream_url or _DEFAULT_URLS[self.environment][2]


def load_config(table: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> BinanceConfig:
    """Validate ``table`` and read the credentials from the environment variables it names.

    Raises ``ValueError`` listing every bad key (unknown keys included) at once.
    """
    env = os.environ if environ is None else environ
    data = dict(table)
    try:
        config = BinanceConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<table>'}: {err['msg']}" for err in exc.errors()
        )
        raise ValueError(f"[broker.binance] config invalid: {problems}") from None
    updates: dict[str, SecretStr] = {}
    missing: list[str] = []
    for field, env_field in (("api_key", "api_key_env"), ("api_secret", "api_secret_env")):
        given: SecretStr | None = getattr(config, field)
        if given is not None:  # registered too, so it is scrubbed from every log, store and report
            register_secret(given, f"broker.binance.{field}")
            continue
        var = getattr(config, env_field)
        if not env.get(var, "").strip():
            missing.append(f"{field} (environment variable {var} is not set)")
        else:  # tradebot's one way to load a secret: read, stripped and registered for scrubbing
            updates[field] = load_secret(f"broker.binance.{field}", env=var, environ=env)
    if missing:
        raise ValueError("[broker.binance] config invalid: " + "; ".join(missing))
    return config.model_copy(update=updates)
