"""Run manifest: masked account, redacted config with hashes, versions, git commit, runtime contract."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradebot.ops import secrets
from tradebot.ops.manifest import (
    ManifestError,
    build_manifest,
    canonical_hash,
    git_commit,
    mask_account_id,
    write_manifest,
)

NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


@dataclass(frozen=True)
class _Plugin:
    name: str
    version: str
    client_libraries: tuple[str, ...] = ()


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    secrets.REGISTRY.clear()
    yield
    secrets.REGISTRY.clear()


def test_mask_account_id() -> None:
    assert mask_account_id("DU1234567") == "*****4567"
    assert mask_account_id("ABC12") == "***12"
    assert mask_account_id("") == ""


def _manifest(config: Mapping[str, object], **kw: object) -> dict[str, object]:
    return build_manifest(
        "observe",
        config,
        {"max_daily_loss": 500},
        [_Plugin("ibkr", "0.3.1", ("loguru",))],
        {"canary": True},
        "DU1234567",
        now=NOW,
        modules=["tradebot"],
        **kw,  # type: ignore[arg-type]
    )


def test_manifest_contents_and_stable_hashes() -> None:
    config = {"broker": {"name": "ibkr", "api_key": "k-1234567890"}, "run": {"mode": "observe"}}
    m = _manifest(config)
    assert m["mode"] == "observe" and m["time"] == NOW.isoformat() and m["account_id"] == "*****4567"
    assert m["config"] == {"broker": {"name": "ibkr", "api_key": "**********"}, "run": {"mode": "observe"}}
    assert m["config_hash"] == canonical_hash(m["config"])
    assert m["constitution_hash"] == canonical_hash({"max_daily_loss": 500})
    assert m["feature_flags"] == {"canary": True}
    versions = m["versions"]
    assert isinstance(versions, dict)
    assert versions["plugins"] == {"ibkr": "0.3.1"} and versions["tradebot"]
    assert versions["client_libraries"]["loguru"]
    contract = m["runtime_contract"]
    assert isinstance(contract, dict) and contract["ok"] and contract["test_doubles_loaded"] == []
    # a different secret value gives the same hash: secrets never reach the hash
    other = _manifest({"broker": {"name": "ibkr", "api_key": "other-9999999"}, "run": {"mode": "observe"}})
    assert other["config_hash"] == m["config_hash"]


def test_live_manifest_records_loaded_test_doubles() -> None:
    m = build_manifest("live", {}, None, [], {}, "", now=NOW, modules=["tradebot.testing.controller"])
    contract = m["runtime_contract"]
    assert isinstance(contract, dict)
    assert contract["test_doubles_reachable"] and not contract["ok"]
    assert any("test doubles" in p for p in contract["problems"])


def test_git_commit_in_a_repo_and_outside(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    assert git_commit(tmp_path) is None
    run = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("x")
    subprocess.run([*run, "-C", str(tmp_path), "add", "f"], check=True)
    subprocess.run([*run, "-C", str(tmp_path), "commit", "-qm", "x"], check=True)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert git_commit(tmp_path) == head.stdout.strip()


def test_write_manifest_is_owner_only_and_refuses_a_leaking_secret(tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "run", _manifest({"x": 1}))
    assert json.loads(path.read_text())["mode"] == "observe"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    leaky = _manifest({"x": 1})
    secrets.register_secret("leaky-secret-123")
    leaky["extra_field"] = "leaky-secret-123"
    with pytest.raises(ManifestError, match="secret"):
        write_manifest(tmp_path / "run2", leaky)
    assert not (tmp_path / "run2" / "manifest.json").exists()
