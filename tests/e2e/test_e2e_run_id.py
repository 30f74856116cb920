"""A run's id is where it is true: the run directory's manifest and the store's write batches (wall-clock
metadata, outside the event bodies so two replays stay byte-identical). ``run_start`` carries no
placeholder pointing elsewhere; the batch that committed it names the same run as the manifest."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from e2e_helpers import run_env, tradebot

from tradebot.store.reader import StoreReader

pytestmark = pytest.mark.timeout(300)


def test_run_start_is_committed_under_the_run_id_of_the_manifest(tmp_path: Path, sample: Path) -> None:
    run_dir = tmp_path / "run"
    store = tmp_path / "r.db"
    result = tradebot(
        "run", "--data", str(sample), "--store", str(store), "--max-bars", "20", "-q", env=run_env(run_dir)
    )
    assert result.returncode == 0, result.stderr
    run_id = orjson.loads((run_dir / "manifest.json").read_bytes())["run_id"]
    with StoreReader(store) as reader:
        start = reader.first_event("run_start")
        assert start is not None
        batch = reader.write_batch(start.seq)
    assert batch is not None and batch.run_id == run_id and len(run_id) >= 8
    assert not any("run_id" in key for key in start.body)  # no placeholder: the id is not a body field
    assert all("see " not in value for value in start.body.values() if isinstance(value, str))
