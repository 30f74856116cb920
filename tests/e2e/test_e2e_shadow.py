"""Shadow parameter sets on the real ES week (the shipped config, traded as MES): four sets beside the live
one, each traded on paper on the same bars with the same brackets and costs (1.5 bps a side: the simulated
venue's fee + slippage), and ``tradebot promote`` over the store.

Measured on these bars (mean post-cost bps a paper trade, trades): live -3.86 (114); ``conservative``
(profile) -1.48 (54), ``slow_ema`` (EMA 20/60) -2.79 (91), ``aggressive`` -3.56 (203), ``fast_ema`` (EMA 5/20)
-3.79 (144). So conservative beats the live set by 62 % over more than 30 samples each and is proposed (it
still loses after costs, and says so), while fast_ema is 1.7 % better only and is not. The test asserts
those relations from the store, not the figures."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from e2e_helpers import REPO, SAMPLE, run_env, tradebot

from tradebot.models.verify import verify_artifact
from tradebot.shadow.promotion import compare
from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(600)
SETS = """
[shadow.conservative]
profile = "conservative"

[shadow.slow_ema]
params = {trend_ema = {fast = 20, slow = 60}}

[shadow.aggressive]
profile = "aggressive"

[shadow.fast_ema]
params = {trend_ema = {fast = 5, slow = 20}}
"""


def shadow_config(directory: Path) -> Path:
    text = (REPO / "config" / "tradebot.toml").read_text()
    text = text.replace(
        'constitution = "config/constitution.yaml"', f'constitution = "{REPO}/config/constitution.yaml"'
    )
    config = directory / "shadow.toml"
    config.write_text(text + SETS)
    return config


def replay(directory: Path, name: str) -> Path:
    store = directory / f"{name}.db"
    done = tradebot(
        "replay",
        "-q",
        "--config",
        str(shadow_config(directory)),
        "--data",
        str(SAMPLE),
        "--out",
        str(store),
        env=run_env(directory / f"run-{name}"),
    )
    assert done.returncode == 0, done.stderr
    return store


def paper(store: Path) -> dict[str, list[Decimal]]:
    out: dict[str, list[Decimal]] = defaultdict(list)
    with StoreReader(store) as reader:
        for event in reader.iter_events(kinds=("shadow_trade",)):
            out[event.body["set"]].append(Decimal(event.body["net_bps"]))
    return out


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return replay(tmp_path_factory.mktemp("shadow"), "week")


def test_every_set_is_traded_on_paper_without_an_order(week: Path, tmp_path: Path) -> None:
    records = paper(week)
    assert set(records) == {"live", "conservative", "slow_ema", "aggressive", "fast_ema"}
    assert all(len(v) >= 30 for v in records.values())
    plain = tmp_path / "plain.db"
    done = tradebot("replay", "-q", "--data", str(SAMPLE), "--out", str(plain), env=run_env(tmp_path / "run"))
    assert done.returncode == 0
    kinds = ("decision", "order_submit", "order_filled")
    with StoreReader(week) as a, StoreReader(plain) as b:  # the live run is the same with or without them
        assert [e.body for e in a.iter_events(kinds=kinds)] == [e.body for e in b.iter_events(kinds=kinds)]


def test_the_paper_records_are_deterministic(week: Path, tmp_path: Path) -> None:
    assert paper(replay(tmp_path, "again")) == paper(week)


def test_promote_proposes_the_set_that_beat_live_and_not_the_one_that_did_not(
    week: Path, tmp_path: Path
) -> None:
    records = paper(week)
    assert compare("conservative", records["conservative"], records["live"]).proposed
    assert not compare("fast_ema", records["fast_ema"], records["live"]).proposed
    out = tmp_path / "promoted"
    done = tradebot("promote", "--store", str(week), "--set", "conservative", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("PROPOSED: conservative:") and "still loses after costs" in done.stdout
    manifest = verify_artifact(out)
    assert "+shadow.conservative." in manifest.version
    assert json.loads((out / manifest.params_file).read_text())["profiles"]["conservative"]["profile"] == (
        "conservative"
    )
    refused = tradebot("promote", "--store", str(week), "--set", "fast_ema", "--out", str(tmp_path / "no"))
    assert refused.returncode == 9
    assert refused.stdout.startswith("not proposed: fast_ema: not 5% better")
    assert not (tmp_path / "no").exists()


def test_a_promoted_artifact_runs(week: Path, tmp_path: Path) -> None:
    out = tmp_path / "promoted"
    assert (
        tradebot("promote", "--store", str(week), "--set", "conservative", "--out", str(out)).returncode == 0
    )
    config = tmp_path / "promoted.toml"
    text = (REPO / "config" / "tradebot.toml").read_text()
    text = text.replace(
        'constitution = "config/constitution.yaml"', f'constitution = "{REPO}/config/constitution.yaml"'
    )
    config.write_text(text.replace('profile = "balanced"', f'profile = "conservative"\nmodel = "{out}"', 1))
    done = tradebot(
        "replay",
        "-q",
        "--config",
        str(config),
        "--data",
        str(SAMPLE),
        "--out",
        str(tmp_path / "p.db"),
        env=run_env(tmp_path / "run"),
    )
    assert done.returncode == 0, done.stderr
