"""The [ops] config section: seed defaults, validation naming the key, and the policy builders."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tradebot.ops.config import OpsConfig
from tradebot.ops.secrets import redact


def test_defaults_are_the_seeds() -> None:
    ops = OpsConfig()
    policy = ops.breaker_policy()
    assert (policy.short_threshold, policy.short_window_s, policy.short_open_s) == (3, 60.0, 60.0)
    assert (policy.long_threshold, policy.long_window_s, policy.long_open_s) == (10, 600.0, 900.0)
    assert ops.retry_policy().max_attempts == 4 and ops.cancel_all_policy().max_per_minute == 2
    assert ops.metrics.enabled is False and ops.metrics.host == "127.0.0.1"
    assert ops.alert_thresholds().stale_after_s == 180.0


def test_unknown_and_bad_keys_are_named() -> None:
    with pytest.raises(ValidationError) as info:
        OpsConfig.model_validate({"breakers": {"short_threshold": 0}, "metrics": {"prot": 1}})
    locs = {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}
    assert locs == {"breakers.short_threshold", "metrics.prot"}


def test_webhook_url_is_secret() -> None:
    ops = OpsConfig.model_validate({"alerts": {"webhook_url": "https://hooks.example/T0KEN-xyz"}})
    assert "T0KEN" not in str(redact(ops))
    assert ops.alerts.webhook_url is not None
