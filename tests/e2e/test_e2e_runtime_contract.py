"""Live mode on the simulated venue against a production environment breaks the runtime contract: the
run and `config check` refuse it (exit 2) with the reason code RUNTIME_CONTRACT_VIOLATION and the problem,
and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_helpers import REPO, run_env, tradebot

pytestmark = pytest.mark.timeout(300)


def test_live_on_the_simulated_venue_in_production_is_refused_with_its_reason_code(
    tmp_path: Path, sample: Path
) -> None:
    env = run_env(tmp_path / "run")
    env["TRADEBOT_BROKER__ENVIRONMENT"] = "production"
    config = str(REPO / "config" / "tradebot.toml")
    store = tmp_path / "live.db"
    run = tradebot(
        "run", "--mode", "live", "--config", config, "--store", str(store), "--data", str(sample),
        "--max-bars", "5", "--arm", env=env,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if "RUNTIME_CONTRACT_VIOLATION" in line]
    assert len(lines) == 1, run.stderr
    assert "is the simulated venue" in run.stderr
    assert not store.exists()
    check = tradebot("config", "check", "--mode", "live", "--config", config, env=env)
    assert check.returncode == 2, check.stdout
    assert [line for line in check.stderr.splitlines() if "RUNTIME_CONTRACT_VIOLATION" in line] == lines
