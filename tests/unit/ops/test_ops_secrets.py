"""Secrets: owner-only files, env, registration, redact and the log-record scrubber."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from tradebot.ops import secrets
from tradebot.ops.secrets import REDACTED, SecretsError, load_secret, redact, scrub_log_record, scrub_text


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    secrets.REGISTRY.clear()
    yield
    secrets.REGISTRY.clear()


def _secret_file(tmp_path: Path, mode: int, value: str = "abcd-SECRET-1234\n") -> Path:
    path = tmp_path / "binance.key"
    path.write_text(value)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_group_or_world_readable_file_is_refused_naming_file_and_mode(tmp_path: Path, mode: int) -> None:
    path = _secret_file(tmp_path, mode)
    with pytest.raises(SecretsError) as info:
        load_secret("binance_api_secret", file=path)
    message = str(info.value)
    assert str(path) in message and f"{mode:04o}" in message
    assert "abcd-SECRET-1234" not in message


def test_owner_only_file_loads_stripped_and_registered(tmp_path: Path) -> None:
    path = _secret_file(tmp_path, 0o600)
    value = load_secret("binance_api_secret", file=path)
    assert isinstance(value, SecretStr) and value.get_secret_value() == "abcd-SECRET-1234"
    assert "abcd-SECRET-1234" not in repr(value)
    assert scrub_text("key=abcd-SECRET-1234;") == f"key={REDACTED};"


def test_env_source_and_its_errors(tmp_path: Path) -> None:
    env = {"TB_KEY": "  env-secret-value  ", "EMPTY": " "}
    assert load_secret("k", env="TB_KEY", environ=env).get_secret_value() == "env-secret-value"
    with pytest.raises(SecretsError, match=r"\$MISSING is not set"):
        load_secret("k", env="MISSING", environ=env)
    with pytest.raises(SecretsError, match=r"\$EMPTY is empty"):
        load_secret("k", env="EMPTY", environ=env)
    with pytest.raises(SecretsError, match="both"):
        load_secret("k", env="TB_KEY", file=_secret_file(tmp_path, 0o600), environ=env)
    with pytest.raises(SecretsError, match="not found"):
        load_secret("k", file=tmp_path / "nope")


class _Broker(BaseModel):
    api_key: SecretStr
    api_key_env: str = "TB_KEY"
    endpoint: str = "https://x"


def test_redact_replaces_secret_keys_secretstr_and_registered_values() -> None:
    secrets.register_secret("registered-value-xyz")
    data: dict[str, Any] = {
        "broker": _Broker(api_key=SecretStr("s3cr3t-value")),
        "token": "plain-token-value",
        "note": "contains registered-value-xyz inside",
        "nested": [{"password": "pw-123456"}, Path("/home/registered-value-xyz")],
        "size": 3,
        "flags": {"on"},
    }
    out = redact(data)
    assert out["broker"] == {"api_key": REDACTED, "api_key_env": "TB_KEY", "endpoint": "https://x"}
    assert out["token"] == REDACTED
    assert out["note"] == f"contains {REDACTED} inside"
    assert out["nested"] == [{"password": REDACTED}, f"/home/{REDACTED}"]
    assert out["size"] == 3 and out["flags"] == ["on"]


def test_short_values_are_not_registered() -> None:
    secrets.register_secret("abc")
    assert scrub_text("abcabc") == "abcabc"


def test_log_record_patcher_scrubs_message_and_extra() -> None:
    secrets.register_secret("patcher-secret-99")
    record: dict[str, Any] = {
        "message": "using patcher-secret-99",
        "extra": {
            "code": "AUTH_HALT",
            "key": "patcher-secret-99",
            "obj": {"a": "x patcher-secret-99"},
            "s": SecretStr("whatever"),
        },
    }
    scrub_log_record(record)
    assert "patcher-secret-99" not in str(record)
    assert record["extra"]["code"] == "AUTH_HALT" and record["extra"]["s"] == REDACTED


def test_json_escaped_form_of_a_secret_is_scrubbed_too() -> None:
    import json

    secrets.register_secret('quote"and\\slash-secret')
    encoded = json.dumps({"v": 'quote"and\\slash-secret'})
    assert "slash-secret" not in scrub_text(encoded)
