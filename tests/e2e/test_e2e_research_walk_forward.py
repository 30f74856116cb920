"""``tradebot research walk-forward`` over SPY daily 1998–2021 (../shared/data): 188 folds of 180 days of
training, a 5-day embargo and 30 days of test, each fitted on its train window and traded by the live
pipeline on its test window. The distribution is printed and written, and a second run writes the same
bytes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from e2e_helpers import REPO, run_env, tradebot

pytestmark = pytest.mark.timeout(600)

SPY_DAILY = REPO.parent / "shared" / "data" / "spy_1d_1998-01-02_2021-03-31.csv"
CONFIG = REPO / "config" / "research-spy-daily.toml"


def _walk_forward(out: Path) -> str:
    done = tradebot(
        "research",
        "walk-forward",
        "--data",
        f"SPY={SPY_DAILY}",
        "--config",
        str(CONFIG),
        "--out",
        str(out),
        "-q",
        env=run_env(out.parent / "run"),
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("wf") / "one"
    return out, _walk_forward(out)


def test_at_least_twenty_folds_with_their_distribution(first: tuple[Path, str]) -> None:
    out, stdout = first
    summary = json.loads((out / "summary.json").read_text())
    assert summary["folds"] >= 20 and summary["folds"] == 188
    with (out / "folds.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary["folds"]
    dist = summary["distribution"]
    for metric in ("post_cost_return", "turnover", "max_drawdown", "hit_rate", "sharpe"):
        assert dist[metric]["n"] > 20, metric
        assert dist[metric]["min"] <= dist[metric]["median"] <= dist[metric]["max"]
        assert dist[metric]["variance"] is not None  # the stability across folds
    assert dist["post_cost_return"]["std"] > 0 and sum(int(r["trades"]) for r in rows) > 100
    assert summary["data"]["SPY"]["bars"] == 5849
    for metric in ("post_cost_return", "max_drawdown", "sharpe"):
        assert metric in stdout
    assert "188 folds" in stdout and "block bootstrap p-value" in stdout


def test_each_fold_is_trained_on_its_own_window_and_traded_after_it(first: tuple[Path, str]) -> None:
    out, _ = first
    with (out / "folds.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    digests = {r["model_digest"] for r in rows}
    assert len(digests) == len(rows)  # every fold fitted its own model
    for row in rows:
        assert int(row["train_end"]) + 5 <= int(row["test_start"])
        assert int(row["test_end"]) - int(row["test_start"]) == 30
    assert [int(r["test_start"]) for r in rows] == list(range(185, 185 + 30 * len(rows), 30))


def test_two_runs_write_the_same_bytes(first: tuple[Path, str], tmp_path: Path) -> None:
    out, _ = first
    again = tmp_path / "two"
    _walk_forward(again)
    for name in ("folds.csv", "summary.json"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_a_profile_is_chosen_per_fold_on_its_train_window_only(tmp_path: Path) -> None:
    """Two candidate profiles: each fold replays both on its train window (cut at its end) and trades the
    one with the better post-cost return there; the deflated Sharpe counts both tries."""
    spy = tmp_path / "spy_1998_1999.csv"
    spy.write_text("\n".join(SPY_DAILY.read_text().splitlines()[:420]) + "\n")
    out = tmp_path / "wf"
    done = tradebot(
        "research", "walk-forward", "--data", f"SPY={spy}", "--config", str(CONFIG), "--out", str(out),
        "--profile", "balanced", "--profile", "aggressive", "-q", env=run_env(tmp_path / "run"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with (out / "folds.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    summary = json.loads((out / "summary.json").read_text())
    assert len(rows) == summary["folds"] >= 5 and summary["overfit"]["trials"] == 2
    for row in rows:
        objective = json.loads(row["train_objective"])
        assert set(objective) == {"balanced", "aggressive"}
        order = ("balanced", "aggressive")  # ties go to the profile given first
        best = max(order, key=lambda p: objective[p] if objective[p] is not None else float("-inf"))
        assert row["profile"] == best
    assert sum(summary["profiles_chosen"].values()) == len(rows)
