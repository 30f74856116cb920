"""The crypto pair of 2022-12-13 replayed together on the 24/7 calendar: ADAUSDT (Binance USD-M, linear) and
BTCUSD (Binance COIN-M, inverse: contracts of 100 USD margined in BTC), both from presets, one sleeve each
(``config/crypto-pair.toml``), ``tradebot replay --data ADAUSDT=… --data BTCUSD=…``. Real bars from
../shared/data (QuantConnect Lean, Apache-2.0; the tests skip when it is absent)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from e2e_helpers import REPO, run_env, tradebot

from tradebot.domain.calendars import shared_calendars
from tradebot.store import StoreReader

sys.path.insert(0, str(REPO / "tests" / "faults"))
from store_outcome import first_difference, outcome

DATA = REPO.parent / "shared" / "data"
ADA = DATA / "adausdt_perp_binance_1m_2022-12-13.csv"
BTC = DATA / "btcusd_perp_coinm_binance_1m_2022-12-13.csv"
CONFIG = REPO / "config" / "crypto-pair.toml"
FACE = Decimal(100)  # USD per BTCUSD contract
FEE_RATE = Decimal("0.5") / Decimal(10_000)  # config/crypto-pair.toml: fee_bps = 0.5 of notional

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not (ADA.exists() and BTC.exists()), reason="../shared/data not present"),
]


def _replay(store: Path) -> str:
    done = tradebot(
        "replay", "--config", str(CONFIG), "--data", f"ADAUSDT={ADA}", "--data", f"BTCUSD={BTC}",
        "--store", str(store), env=run_env(store.parent / "run"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    store = tmp_path_factory.mktemp("crypto-pair") / "pair.db"
    return store, _replay(store)


def _events(store: Path, kind: str) -> list[dict]:  # type: ignore[type-arg]
    with StoreReader(store) as reader:
        return [e.body for e in reader.iter_events(kinds=(kind,))]


def test_both_perps_trade_through_the_night_on_the_24_7_calendar(pair: tuple[Path, str]) -> None:
    store, out = pair
    bars = _events(store, "bar")
    counts = Counter(b["symbol"] for b in bars)
    assert counts == {"ADAUSDT": 1440, "BTCUSD": 1439}  # every bar of both files (BTC misses a quiet minute)
    keys = [(b["ts"], b["symbol"]) for b in bars]
    assert keys == sorted(keys)  # merged in time order; a minute's bars in symbol order
    entries = [s for s in _events(store, "order_submit") if not s["reduce_only"]]
    assert {s["symbol"] for s in entries} == {"ADAUSDT", "BTCUSD"}
    calendars = shared_calendars()
    # entries while every stock and futures exchange the daemon knows is shut: only 24/7 trades then
    night = [s for s in entries if not calendars.is_open("XNYS", datetime.fromisoformat(s["ts"]))]
    assert {s["symbol"] for s in night} == {"ADAUSDT", "BTCUSD"}
    assert not [d for d in _events(store, "decision") if d["code"] == "MARKET_CLOSED_BLOCK"]
    assert "positions:                        ADAUSDT 0, BTCUSD 0" in out


def test_the_inverse_contract_is_accounted_in_usd_from_its_coin(pair: tuple[Path, str]) -> None:
    """A BTCUSD fill's notional is its face (contracts x 100 USD, whatever the price); a round trip earns
    contracts x 100 x (1/entry - 1/exit) BTC, worth (exit - entry) x contracts x 100 / entry USD at exit."""
    store, _ = pair
    fills = [f for f in _events(store, "order_filled") if f["symbol"] == "BTCUSD"]
    assert len(fills) >= 4
    for fill in fills:
        face = Decimal(fill["quantity"]) * FACE
        assert Decimal(fill["fee"]) == (face * FEE_RATE).quantize(Decimal(fill["fee"]))
    report = tradebot("report", "--store", str(store), "--json", env=run_env(store.parent / "run-report"))
    assert report.returncode == 0, report.stderr[-2000:]
    trades = [t for t in json.loads(report.stdout)["trades"] if t["symbol"] == "BTCUSD"]
    assert trades
    for trade in trades:
        entry, exit_, qty = (Decimal(trade[k]) for k in ("entry_price", "exit_price", "quantity"))
        direction = 1 if trade["side"] == "LONG" else -1
        coins = direction * qty * FACE * (1 / entry - 1 / exit_)
        assert abs(Decimal(trade["pnl_gross"]) - coins * exit_) < Decimal("1e-6"), trade
    # the run's own books (trade_closed: PnL less the closing fill's fee) hold the same PnL, trade by trade
    closed = [Decimal(c["pnl"]) for c in _events(store, "trade_closed") if c["symbol"] == "BTCUSD"]
    exit_fees = [Decimal(t["quantity"]) * FACE * FEE_RATE for t in trades]
    assert closed == [Decimal(t["pnl_gross"]) - fee for t, fee in zip(trades, exit_fees, strict=True)]


def test_the_pair_replays_identically(pair: tuple[Path, str], tmp_path: Path) -> None:
    store, _ = pair
    again = tmp_path / "again.db"
    _replay(again)
    assert first_difference(outcome(store), outcome(again)) is None
