"""Continuing an account's store after an upgrade: a setting the newer version added, left at its default,
is not a different config (the daily cron run goes on with its positions); set to anything else, it is."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

from tradebot.pipeline.app import RunRefused
from tradebot.pipeline.store_choice import RunIdentity, check_continuable, without_new_defaults
from tradebot.settings import Settings
from tradebot.store import EventWriter

NOW = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
DEFAULTS = Settings.model_construct().decision_config()


def older(config: dict[str, Any]) -> dict[str, Any]:
    """The config as a version without the ``[tca]`` and ``[sleeves]`` sections recorded it."""
    return {k: v for k, v in config.items() if k not in ("tca", "sleeves")}


def store_of(tmp_path: Path, recorded: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "account.db"
    run_start = {"config_hash": "0" * 64, "instruments": [], "data": "broker"}

    async def write() -> None:
        async with EventWriter.open(path, run_id="older") as writer:
            writer.append("run_start", run_start, ts=NOW)
            writer.append("run_manifest", {"config": recorded}, ts=NOW)

    anyio.run(write)
    return path, run_start


def identity(config: dict[str, Any]) -> RunIdentity:
    return RunIdentity(config_hash="1" * 64, instruments=[], data="broker", config=config, defaults=DEFAULTS)


def test_new_sections_at_their_defaults_continue_the_store(tmp_path: Path) -> None:
    path, run_start = store_of(tmp_path, older(DEFAULTS))
    check_continuable(path, run_start, identity(dict(DEFAULTS)))  # no refusal


def test_a_new_setting_away_from_its_default_is_a_different_config(tmp_path: Path) -> None:
    path, run_start = store_of(tmp_path, older(DEFAULTS))
    changed = {**DEFAULTS, "tca": {**DEFAULTS["tca"], "arrival": "submit"}}
    with pytest.raises(RunRefused, match=r"tca: \(absent\) -> .*'arrival': 'submit'"):
        check_continuable(path, run_start, identity(changed))


def test_an_old_setting_changed_is_still_a_different_config(tmp_path: Path) -> None:
    path, run_start = store_of(tmp_path, older(DEFAULTS))
    changed = {**DEFAULTS, "strategy": {**DEFAULTS["strategy"], "profile": "aggressive"}}
    with pytest.raises(RunRefused, match=r"strategy\.profile: 'balanced' -> 'aggressive'"):
        check_continuable(path, run_start, identity(changed))


def test_only_keys_missing_from_the_record_and_at_their_default_are_left_out() -> None:
    current = {"a": 1, "new": {"x": 1}, "section": {"old": 2, "added": None}}
    recorded = {"a": 1, "section": {"old": 2}}
    defaults = {"a": 0, "new": {"x": 1}, "section": {"old": 0, "added": None}}
    assert without_new_defaults(current, recorded, defaults) == {"a": 1, "section": {"old": 2}}
    assert without_new_defaults({**current, "new": {"x": 2}}, recorded, defaults)["new"] == {"x": 2}
