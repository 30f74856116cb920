"""Live mode refuses a tampered model artifact (MODEL_VERIFICATION_FAILED); an intact copy runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from e2e_helpers import REPO, run_env, tradebot

from tradebot.models import default_model_path

pytestmark = pytest.mark.timeout(300)


def _config(tmp_path: Path, model: Path) -> Path:
    text = (REPO / "config" / "tradebot.toml").read_text()
    text = text.replace('constitution = "config/constitution.yaml"',
                        f'constitution = "{REPO / "config" / "constitution.yaml"}"')
    text = text.replace('ai_mode = "shadow"', f'ai_mode = "shadow"\nmodel = "{model}"', 1)
    path = tmp_path / "live.toml"
    path.write_text(text)
    return path


def test_a_tampered_artifact_is_refused_in_live_mode(tmp_path: Path, sample: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    params = next(p for p in model.iterdir() if p.name != "manifest.json")
    data = bytearray(params.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte
    params.write_bytes(bytes(data))
    store = tmp_path / "live.db"
    result = tradebot("run", "--mode", "live", "--config", str(_config(tmp_path, model)), "--store",
                      str(store), "--data", str(sample), "--max-bars", "50", env=run_env(tmp_path / "run"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "MODEL_VERIFICATION_FAILED" in result.stderr
    assert not store.exists()  # refused before anything was written


def test_an_intact_copy_of_the_artifact_trades_in_live_mode_on_paper(tmp_path: Path, sample: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    result = tradebot("run", "--mode", "live", "--config", str(_config(tmp_path, model)), "--store",
                      str(tmp_path / "ok.db"), "--data", str(sample), "--max-bars", "2000",
                      env=run_env(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    assert re.search(r"^run: +mode live", result.stdout, re.M)
    assert re.search(r"^bars: +2000 processed", result.stdout, re.M)
