"""The portfolio rules on real bars: volatility targeting on the bundled ES week, and the concentration and
correlation caps on the ES and SPY minute bars of the same week (2013-10-07..11), which move together.

- Volatility targeting: the ``busy`` workload (BENCH on a 24/7 calendar, $10M) sized at 2 % risk per trade
  holds about 1.7x its equity in ES; at the week's realized volatility that is well above the 18 % target,
  so entries are cut by target / estimate (VOL_TARGET_SCALE), each cut recorded with its estimate.
- Concentration and correlation: the shipped config (MES from the ES bars, SPY) on a constitution that lets
  both be held. SPY alone is held to 12 % of the portfolio (RISK_CAP_PORTFOLIO); with one MES contract held,
  SPY's entries meet a group whose realized correlation with it is above 0.80 and which already holds more
  than its 35 % (CORR_CLUSTER_CAP).
"""

from __future__ import annotations

import sys
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import REPO, SAMPLE, run_env, tradebot

from tradebot.store import StoreReader

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "faults"))
from store_outcome import first_difference, outcome

from bench.config import write_busy_config

pytestmark = pytest.mark.timeout(600)

SPY_WEEK = REPO.parent / "shared" / "data" / "spy_1m_2013-10-04_2013-10-11.csv"
SHIPPED_TOML = (REPO / "config" / "tradebot.toml").read_text()
SHIPPED_CONSTITUTION = (REPO / "config" / "constitution.yaml").read_text()


def _run(directory: Path, config: Path, *data: str) -> Path:
    store = directory / "s.db"
    args = ["replay", "--config", str(config), "--store", str(store), "-q"]
    for item in data:
        args += ["--data", item]
    done = tradebot(*args, env=run_env(directory / "run"))
    assert done.returncode == 0, done.stderr[-3000:]
    return store


def _decisions(store: Path) -> list[dict[str, Any]]:
    with StoreReader(store) as reader:
        return [event.body for event in reader.iter_events(kinds=("decision",))]


def _verdicts(store: Path, gate: str) -> list[dict[str, Any]]:
    return [v for d in _decisions(store) for v in d["verdicts"] if v["gate"] == gate]


@pytest.fixture(scope="module")
def vol_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("vol")
    config = write_busy_config(directory, fraction="0.02")
    constitution = directory / "constitution.yaml"
    text = constitution.read_text().replace("position_limit: 1", "position_limit: null")
    text = text.replace('target_annual_vol: "10"', 'target_annual_vol: "0.18"')
    text = text.replace("  liquidity:\n", "  liquidity:\n    max_participation_pct: null\n", 1)
    constitution.write_text(text)
    return _run(directory, config, str(SAMPLE))


def test_entries_above_the_volatility_target_are_scaled_with_the_estimate_they_used(vol_store: Path) -> None:
    verdicts = _verdicts(vol_store, "vol_target")
    scaled = [v for v in verdicts if v["code"] == "VOL_TARGET_SCALE" and v["outcome"] == "CLAMP"]
    assert len(scaled) >= 5, [v["details"] for v in verdicts[:5]]
    estimated = [v for v in scaled if "vol_after" in v["details"]]
    assert len(estimated) >= 5
    for verdict in scaled:
        details = verdict["details"]
        scale = Decimal(details["scale"])
        if "vol_after" not in details:  # before the first day's 30 returns: unknown, the minimum scale
            assert details["estimate"] == "unknown" and scale == Decimal("0.25")
        else:
            vol = float(details["vol_after"])
            assert vol > 0.18 and Decimal("0.25") <= scale < 1
            assert abs(float(scale) - max(0.18 / vol, 0.25)) < 1e-3  # the record rounds vol to 4 places
        asked, got = Decimal(details["quantity"]["from"]), Decimal(details["quantity"]["to"])
        assert got == (asked * scale).to_integral_value(ROUND_DOWN)
    # the decision record of a clamped entry lists every scale applied, in chain order, with its numbers
    clamped = [d for d in _decisions(vol_store) if "VOL_TARGET_SCALE" in d["clamps"] and d["approved"]]
    record = next(d for d in clamped if any("vol_after" in v["details"] for v in d["verdicts"]))
    assert [s["code"] for s in record["scales"]] == record["clamps"]
    scale = next(s for s in record["scales"] if s["code"] == "VOL_TARGET_SCALE")
    assert scale["because"]["vol_after"] and Decimal(scale["to_qty"]) < Decimal(scale["from_qty"])
    quantities = [Decimal(record["intent"]["quantity"])] + [Decimal(s["to_qty"]) for s in record["scales"]]
    assert quantities == sorted(quantities, reverse=True)
    assert Decimal(record["approved"]["quantity"]) == quantities[-1]


def _pair_config(directory: Path) -> Path:
    """The shipped config, and a constitution that lets MES and SPY be held together: SPY's entries (the
    ``default`` rules) see $40,000 exposure caps instead of $5,000 in total and $1,000 for the symbol."""
    directory.mkdir(parents=True, exist_ok=True)
    constitution = directory / "constitution.yaml"
    text = SHIPPED_CONSTITUTION
    for cap in ("max_exposure_total_usd: 5000\n", "max_exposure_per_symbol_usd: 1000\n"):
        text = text.replace(cap, cap.split()[0] + " 40000\n", 1)
    constitution.write_text(text)
    toml = directory / "tradebot.toml"
    toml.write_text(
        SHIPPED_TOML.replace('constitution = "config/constitution.yaml"', f'constitution = "{constitution}"')
    )
    return toml


@pytest.fixture(scope="module")
def pair_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pair")
    return _run(directory, _pair_config(directory), f"MES={SAMPLE}", f"SPY={SPY_WEEK}")


def test_spy_alone_is_held_to_its_share_of_the_portfolio(pair_store: Path) -> None:
    verdicts = _verdicts(pair_store, "portfolio_concentration")
    capped = [v for v in verdicts if v["code"] == "RISK_CAP_PORTFOLIO"]
    assert capped, "SPY's entries never met the 12 % symbol cap"
    for verdict in capped:
        symbol = verdict["details"]["symbol"]
        assert symbol["members"] == ["SPY"] and symbol["cap_weight"] == "0.12"
        if verdict["outcome"] == "CLAMP":
            assert Decimal(symbol["room_usd"]) > 0 and Decimal(symbol["quantity"]["to"]) > 0


def test_spy_meets_the_cap_of_its_group_with_the_es_contract_held(pair_store: Path) -> None:
    grouped = [v for v in _verdicts(pair_store, "correlation_cap") if v["code"] == "CORR_CLUSTER_CAP"]
    assert grouped, "no SPY entry met the correlated group's cap"
    for verdict in grouped:
        details = verdict["details"]
        assert details["members"] == ["MES", "SPY"] and details["cap_weight"] == "0.35"
        assert [float(c) > 0.8 for c in details["correlations"].values()] == [True]
        assert Decimal(details["exposure_usd"]) > 0 and details["lookback_days"] == 30


def test_the_pair_replay_is_deterministic(pair_store: Path, tmp_path: Path) -> None:
    again = _run(tmp_path, _pair_config(tmp_path), f"MES={SAMPLE}", f"SPY={SPY_WEEK}")
    assert first_difference(outcome(pair_store), outcome(again)) is None
