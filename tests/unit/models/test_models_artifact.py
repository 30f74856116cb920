"""Model artifacts: the shipped one verifies and drives the ensemble; any tampering is refused."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from tradebot.cli_model import app
from tradebot.domain import reasons
from tradebot.feeds.sample import sample_path
from tradebot.models import (
    ModelVerificationError,
    default_model_path,
    load_ensemble_params,
    verify_artifact,
)
from tradebot.models.builder import build_artifact, fit_calibration, read_bars_csv
from tradebot.models.loader import load_model
from tradebot.signals import PROFILE_NAMES, UnknownProfileError, build_ensemble

ES_WEEK = sample_path()  # the bundled ES Dec-2013 week


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(default_model_path(), target)
    return target


def flip_one_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_shipped_artifact_verifies_and_covers_every_profile() -> None:
    manifest = verify_artifact(default_model_path())
    assert manifest.format == "tradebot-model/1" and manifest.version
    assert set(manifest.files) == {manifest.params_file}
    assert manifest.training_data.start < manifest.training_data.end
    _, params = load_model(default_model_path())
    assert set(params.profiles) == set(PROFILE_NAMES)


def test_build_ensemble_uses_the_shipped_params_by_default() -> None:
    for profile in PROFILE_NAMES:
        assert build_ensemble(profile, "MES").params == load_ensemble_params(default_model_path(), profile)


@pytest.mark.parametrize("offset", [0, 200, -3])
def test_one_changed_byte_in_the_params_fails_verification(artifact: Path, offset: int) -> None:
    params_file = artifact / "ensemble_params.json"
    flip_one_byte(params_file, offset if offset >= 0 else params_file.stat().st_size + offset)
    with pytest.raises(ModelVerificationError) as info:
        verify_artifact(artifact)
    assert info.value.code == reasons.MODEL_VERIFICATION_FAILED
    assert "ensemble_params.json: sha256 mismatch" in info.value.problems
    with pytest.raises(ModelVerificationError):  # and nothing is loaded from it
        load_ensemble_params(artifact, "balanced")


def test_a_changed_manifest_fails_verification(artifact: Path) -> None:
    manifest = artifact / "manifest.json"
    text = manifest.read_text()
    manifest.write_text(text.replace('"version": "', '"version": "X', 1))
    with pytest.raises(ModelVerificationError, match="digest"):
        verify_artifact(artifact)


def test_missing_and_extra_files_fail_verification(artifact: Path) -> None:
    (artifact / "notes.txt").write_text("hello")
    with pytest.raises(ModelVerificationError, match=r"notes.txt: not listed"):
        verify_artifact(artifact)
    (artifact / "notes.txt").unlink()
    (artifact / "ensemble_params.json").unlink()
    with pytest.raises(ModelVerificationError, match=r"ensemble_params\.json: missing"):
        verify_artifact(artifact)


def test_no_manifest_or_no_directory_fails(tmp_path: Path) -> None:
    with pytest.raises(ModelVerificationError, match="not a directory"):
        verify_artifact(tmp_path / "absent")
    with pytest.raises(ModelVerificationError, match=r"manifest\.json is missing"):
        verify_artifact(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ModelVerificationError, match="not valid JSON"):
        verify_artifact(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "tradebot-model/1"}')
    with pytest.raises(ModelVerificationError, match="version"):
        verify_artifact(tmp_path)


def test_unknown_profile_in_an_artifact(artifact: Path) -> None:
    with pytest.raises(UnknownProfileError, match="turbo"):
        load_ensemble_params(artifact, "turbo")


def test_cli_verify_prints_the_manifest_or_the_failure(artifact: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", str(artifact)])
    assert ok.exit_code == 0
    assert '"version"' in ok.output and "verified" in ok.output
    flip_one_byte(artifact / "ensemble_params.json", 10)
    bad = runner.invoke(app, ["verify", str(artifact)])
    assert bad.exit_code == 2  # a bad artifact is bad input (the README's table)
    assert reasons.MODEL_VERIFICATION_FAILED in bad.output


def test_build_writes_a_verifiable_artifact_and_never_overwrites(tmp_path: Path) -> None:
    if not ES_WEEK.exists():
        pytest.skip("bundled ES week not available")
    bars = read_bars_csv(ES_WEEK, "MES")[:2000]
    out = tmp_path / "built"
    created = datetime(2024, 1, 2, tzinfo=UTC)
    manifest = build_artifact(bars, out, version="test.1", created_at=created, source=ES_WEEK.name)
    assert verify_artifact(out) == manifest
    assert manifest.training_data.rows == 2000 and manifest.training_data.start == bars[0].ts
    raw = orjson.loads((out / "manifest.json").read_bytes())
    assert raw["created_at"] == "2024-01-02T00:00:00Z"
    for profile in PROFILE_NAMES:
        cal = load_ensemble_params(out, profile).calibration
        assert 0 < cal.center < 1 and cal.slope > 0
    with pytest.raises(FileExistsError):
        build_artifact(bars, out, version="test.2", created_at=created, source=ES_WEEK.name)


def test_fit_calibration_maps_the_chosen_quantiles() -> None:
    evidence = [i / 100 for i in range(101)]
    cal = fit_calibration(evidence, 0.5, 0.9)
    assert cal.center == pytest.approx(0.5)
    from tradebot.signals.ensemble import calibrated_confidence

    assert calibrated_confidence(0.5, cal.center, cal.slope) == pytest.approx(0.5)
    assert calibrated_confidence(0.9, cal.center, cal.slope) == pytest.approx(0.9, abs=1e-4)
    with pytest.raises(ValueError, match="spread"):
        fit_calibration([0.2] * 20, 0.5, 0.9)
