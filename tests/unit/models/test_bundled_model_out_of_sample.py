"""The shipped model is calibrated on data other than the week `make run` replays, says so in its manifest,
and is rebuilt byte for byte from the file it names."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tradebot.models.builder import build_artifact, read_bars_csv
from tradebot.models.loader import default_model_path
from tradebot.models.manifest import PARAMS_NAME
from tradebot.models.verify import verify_artifact

REPO = Path(__file__).resolve().parents[3]
REPLAY_WEEK = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"
SHARED = REPO.parent / "shared" / "data"


def test_the_bundled_model_was_not_trained_on_the_bundled_replay_week() -> None:
    manifest = verify_artifact(default_model_path())
    trained = manifest.training_data
    week = read_bars_csv(REPLAY_WEEK, "MES")
    assert trained.source != REPLAY_WEEK.name
    assert trained.end <= week[0].ts or trained.start >= week[-1].end  # no overlap in time


def test_the_bundled_model_is_rebuilt_byte_for_byte_from_the_file_it_names(tmp_path: Path) -> None:
    manifest = verify_artifact(default_model_path())
    source = SHARED / manifest.training_data.source
    bars = read_bars_csv(source, "SPY")
    assert (bars[0].ts, bars[-1].end, len(bars)) == (
        manifest.training_data.start, manifest.training_data.end, manifest.training_data.rows,
    )
    rebuilt = build_artifact(bars, tmp_path / "m", version=manifest.version,
                             created_at=datetime(2026, 12, 3, tzinfo=UTC), source=source.name)
    assert rebuilt.files[PARAMS_NAME] == manifest.files[PARAMS_NAME]
