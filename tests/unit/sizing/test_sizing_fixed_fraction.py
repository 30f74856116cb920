"""The skeleton sizer and the intent builder: entry, exit, hold, rounding, deterministic ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tradebot.domain import reasons
from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.domain.orders import IntentSource, Side
from tradebot.domain.signals import Signal
from tradebot.feeds.sample import sample_path
from tradebot.models.builder import read_bars_csv
from tradebot.signals import build_ensemble
from tradebot.sizing import (
    Action,
    EngineSizer,
    FixedFractionParams,
    FixedFractionSizer,
    SizingContext,
    decide_action,
)

BAR_TS = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)
ES_WEEK = sample_path()  # the bundled ES Dec-2013 week


@pytest.fixture
def mes() -> Instrument:
    return Instrument("MES", "CME", AssetClass.FUTURE, "USD", Decimal("0.25"), Decimal(1), Decimal(1),
                      multiplier=Decimal(5), calendar="CME")


@pytest.fixture
def btc() -> Instrument:
    return Instrument("BTCUSDT", "BINANCE", AssetClass.PERPETUAL, "USDT", Decimal("0.1"), Decimal("0.001"),
                      Decimal("0.001"), min_notional=Decimal(100))


def signal(direction: float, symbol: str = "MES", price: float = 1700.0, confidence: float = 0.7) -> Signal:
    return Signal(symbol, BAR_TS + timedelta(minutes=1), direction, confidence, "normal_vol", price,
                  atr=0.85, profile="balanced", bar_ts=BAR_TS)


def ctx(
    instrument: Instrument, position: Decimal = Decimal(0), equity: Decimal = Decimal(10000)
) -> SizingContext:
    return SizingContext(equity=equity, instrument=instrument, position_qty=position, now=BAR_TS)


@pytest.mark.parametrize(
    ("direction", "position", "action"),
    [(0.5, "0", Action.ENTRY), (-0.5, "0", Action.ENTRY), (0.5, "1", Action.HOLD), (-0.5, "-2", Action.HOLD),
     (-0.5, "1", Action.EXIT), (0.5, "-1", Action.EXIT), (0.0, "0", Action.NONE)],
)
def test_decide_action(direction: float, position: str, action: Action) -> None:
    assert decide_action(direction, Decimal(position)) is action


def test_mes_entry_is_one_contract_with_a_tick_bracket(mes: Instrument) -> None:
    result = FixedFractionSizer().size(signal(0.6), ctx(mes))
    intent = result.intent
    assert intent is not None
    assert (intent.side, intent.quantity, intent.reduce_only) == (Side.BUY, Decimal(1), False)
    assert intent.intent_id == "MES-20131007T133000-0"
    assert intent.bar_ts == BAR_TS and intent.ts == BAR_TS + timedelta(minutes=1)
    assert intent.reference_price == Decimal("1700.00")
    assert intent.exit_plan is not None
    plan = intent.exit_plan
    assert (plan.stop_loss, plan.take_profit) == (Decimal("1698.00"), Decimal("1704.00"))
    assert intent.source is IntentSource.STRATEGY and intent.confidence == 0.7
    assert result.record["action"] == "entry" and result.record["quantity"] == "1"


def test_short_entry_brackets_the_other_way(mes: Instrument) -> None:
    intent = FixedFractionSizer().size(signal(-0.6), ctx(mes)).intent
    assert intent is not None and intent.side is Side.SELL and intent.exit_plan is not None
    plan = intent.exit_plan
    assert (plan.stop_loss, plan.take_profit) == (Decimal("1702.00"), Decimal("1696.00"))


def test_risk_fraction_scales_with_equity_and_is_capped(mes: Instrument) -> None:
    sizer = FixedFractionSizer(FixedFractionParams(fraction=Decimal("0.02")))
    big = sizer.size(signal(0.6), ctx(mes)).intent
    assert big is not None and big.quantity == Decimal(20)  # $200 at risk / (8 ticks x $1.25)
    capped = FixedFractionSizer(FixedFractionParams(fraction=Decimal("0.02"), max_qty=Decimal(1)))
    assert capped.size(signal(0.6), ctx(mes)).intent.quantity == Decimal(1)  # type: ignore[union-attr]
    by_context = SizingContext(Decimal(10000), mes, Decimal(0), BAR_TS, max_qty=Decimal(3))
    assert sizer.size(signal(0.6), by_context).intent.quantity == Decimal(3)  # type: ignore[union-attr]


def test_a_size_that_rounds_to_zero_is_not_produced_and_says_why(mes: Instrument) -> None:
    result = FixedFractionSizer().size(signal(0.6), ctx(mes, equity=Decimal(5000)))  # $5 risk < $10
    assert result.intent is None
    assert result.record["code"] == reasons.INSTRUMENT_INCREMENT_BLOCK
    assert "rounds to zero" in result.record["why"]


def test_notional_basis_and_min_notional(btc: Instrument) -> None:
    sizer = FixedFractionSizer(FixedFractionParams(fraction=Decimal("0.5"), basis="notional"))
    intent = sizer.size(signal(0.6, "BTCUSDT", 20000.0), ctx(btc)).intent
    assert intent is not None and intent.quantity == Decimal("0.250")
    tiny = FixedFractionSizer(FixedFractionParams(fraction=Decimal("0.005"), basis="notional"))
    result = tiny.size(signal(0.6, "BTCUSDT", 20000.0), ctx(btc))  # $50 < min notional $100
    assert result.intent is None and "notional" in result.record["why"]


def test_opposite_signal_closes_the_whole_position_reduce_only(mes: Instrument) -> None:
    intent = FixedFractionSizer().size(signal(-0.4), ctx(mes, Decimal(2))).intent
    assert intent is not None
    assert (intent.side, intent.quantity, intent.reduce_only, intent.exit_plan) == (
        Side.SELL, Decimal(2), True, None)
    cover = FixedFractionSizer().size(signal(0.4), ctx(mes, Decimal(-1))).intent
    assert cover is not None and cover.side is Side.BUY and cover.reduce_only


def test_same_direction_holds(mes: Instrument) -> None:
    result = FixedFractionSizer().size(signal(0.9), ctx(mes, Decimal(1)))
    assert result.intent is None and result.record["action"] == "hold"


def test_engine_adapter_returns_intents_and_record(mes: Instrument) -> None:
    class Inp:
        def __init__(self) -> None:
            self.signal = signal(0.6)
            self.instrument = mes
            self.position_qty = Decimal(0)
            self.equity = Decimal(10000)
            self.now = BAR_TS

    intents, record = EngineSizer(FixedFractionSizer())(Inp())
    assert [i.quantity for i in intents] == [Decimal(1)] and record["action"] == "entry"


def test_the_real_week_trades_one_mes_contract_at_a_time(mes: Instrument) -> None:
    if not ES_WEEK.exists():
        pytest.skip("bundled ES week not available")
    ensemble = build_ensemble("balanced", "MES")
    sizer = FixedFractionSizer()
    position = Decimal(0)
    entries = exits = 0
    ids: set[str] = set()
    for bar in read_bars_csv(ES_WEEK, "MES"):
        sig = ensemble.on_bar(bar)
        if sig is None:
            continue
        intent = sizer.size(sig, ctx(mes, position)).intent
        if intent is None:
            continue
        assert intent.quantity == Decimal(1) and intent.intent_id not in ids
        ids.add(intent.intent_id)
        if intent.reduce_only:
            exits += 1
            assert intent.side.sign == -int(position)
        else:
            entries += 1
            assert position == 0
        position += intent.side.sign * intent.quantity  # assume it filled
    assert entries > 20 and exits >= entries - 1
