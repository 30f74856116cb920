"""The AI sizer (seed 000): confidence and volatility -> size, leverage, exits; SHADOW vs LIVE; failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tradebot.domain import reasons
from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.domain.orders import HarvestPolicy, Side
from tradebot.domain.signals import Signal
from tradebot.sizing import (
    AiSizer,
    AiSizerParams,
    FixedFractionParams,
    FixedFractionSizer,
    HarvestConfig,
    SizerMode,
    SizingContext,
)

BAR_TS = datetime(2022, 12, 13, 10, 0, tzinfo=UTC)


@pytest.fixture
def mes() -> Instrument:
    return Instrument("MES", "CME", AssetClass.FUTURE, "USD", Decimal("0.25"), Decimal(1), Decimal(1),
                      multiplier=Decimal(5), calendar="CME")


@pytest.fixture
def btc() -> Instrument:
    return Instrument("BTCUSDT", "BINANCE", AssetClass.PERPETUAL, "USDT", Decimal("0.1"), Decimal("0.001"),
                      Decimal("0.001"), min_notional=Decimal(100))


def sig(direction: float, confidence: float, *, symbol: str = "BTCUSDT", price: float = 20000.0,
        atr: float | None = 10.0) -> Signal:
    return Signal(symbol, BAR_TS + timedelta(minutes=1), direction, confidence, "normal_vol", price,
                  atr=atr, bar_ts=BAR_TS)


def ctx(instrument: Instrument, *, leverage: bool = True, position: str = "0") -> SizingContext:
    return SizingContext(Decimal(10000), instrument, Decimal(position), BAR_TS, has_leverage=leverage)


def live(**kw: object) -> AiSizer:
    base = FixedFractionSizer()
    return AiSizer(base, AiSizerParams(mode=SizerMode.LIVE, **kw))  # type: ignore[arg-type]


def test_live_btc_short_high_confidence(btc: Instrument) -> None:
    result = live().size(sig(-0.8, 0.9), ctx(btc))
    intent = result.intent
    assert intent is not None
    # pct = 0.5% + 1.5% x 0.9 = 1.85%; ATR 10 at 20000 = 5 bps = reference -> vol factor 1 -> $185
    assert intent.ai_size_usd == Decimal("185.00")
    # leverage = 5 + 75 x 0.9 = 72.5 -> 72 (whole x, down)
    assert intent.ai_leverage == intent.leverage == Decimal(72)
    # quantity = 185 x 72 / 20000 = 0.666
    assert intent.quantity == Decimal("0.666") and intent.side is Side.SELL
    assert intent.ai_harvest_policy is HarvestPolicy.TREND_RUNNER
    plan = intent.exit_plan
    assert plan is not None and plan.policy is HarvestPolicy.TREND_RUNNER
    # TREND_RUNNER: stop 2 ATR, target 4 ATR, 4 h time stop; short -> stop above
    assert (plan.stop_loss, plan.take_profit, plan.time_stop_s) == (
        Decimal("20020.0"), Decimal("19960.0"), 4 * 3600)
    assert intent.risk_budget_usd == Decimal("13.32")  # 0.666 x 20
    ai = result.record["ai"]
    assert ai["status"] == "computed" and ai["applied"] is True and ai["size_usd"] == "185.00"


@pytest.mark.parametrize(("confidence", "leverage", "policy"), [
    (0.0, 5, HarvestPolicy.SCALPER), (0.59, 49, HarvestPolicy.SCALPER),
    (0.6, 50, HarvestPolicy.SWING), (0.79, 64, HarvestPolicy.SWING),
    (0.8, 65, HarvestPolicy.TREND_RUNNER), (1.0, 80, HarvestPolicy.TREND_RUNNER),
])
def test_leverage_and_policy_scale_with_confidence(
    btc: Instrument, confidence: float, leverage: int, policy: HarvestPolicy
) -> None:
    intent = live().size(sig(0.5, confidence), ctx(btc)).intent
    assert intent is not None
    assert intent.ai_leverage == Decimal(leverage) and intent.ai_harvest_policy is policy
    pct = Decimal("0.005") + Decimal("0.015") * Decimal(repr(confidence))
    assert intent.ai_size_usd == (Decimal(10000) * pct).quantize(Decimal("0.01"), rounding="ROUND_DOWN")


@pytest.mark.parametrize(("atr", "factor"), [(20.0, "0.5"), (2.0, "1.5"), (12.5, "0.8")])
def test_size_is_volatility_adjusted(btc: Instrument, atr: float, factor: str) -> None:
    result = live().size(sig(0.5, 1.0, atr=atr), ctx(btc))
    assert result.record["ai"]["vol_factor"] == Decimal(factor).quantize(Decimal("0.0001")).__str__()
    assert result.intent is not None
    assert result.intent.ai_size_usd == (Decimal(200) * Decimal(factor)).quantize(Decimal("0.01"))


def test_no_leverage_where_the_venue_has_none(mes: Instrument) -> None:
    sizer = live(basis="risk", max_qty=Decimal(1))
    intent = sizer.size(sig(0.5, 0.7, symbol="MES", price=1700.0, atr=0.85), ctx(mes, leverage=False)).intent
    assert intent is not None
    assert intent.leverage is None and intent.ai_leverage is None
    assert intent.quantity == Decimal(1)
    plan = intent.exit_plan
    # SWING: stop 1.6 x 0.85 = 1.36 -> 1.25, target 2.4 x 0.85 = 2.04 -> 2.00, on the 0.25 tick grid
    assert plan is not None and (plan.stop_loss, plan.take_profit, plan.time_stop_s) == (
        Decimal("1698.75"), Decimal("1702.00"), 3600)
    assert intent.risk_budget_usd == Decimal("6.25")


def test_live_size_that_rounds_to_zero_is_not_produced(mes: Instrument) -> None:
    # notional basis: $155 of a $8,500 contract is 0.018 contracts
    result = live().size(sig(0.5, 0.7, symbol="MES", price=1700.0, atr=0.85), ctx(mes, leverage=False))
    assert result.intent is None
    assert result.record["code"] == reasons.INSTRUMENT_INCREMENT_BLOCK


def test_shadow_records_the_proposal_and_keeps_the_original(btc: Instrument) -> None:
    base = FixedFractionSizer()
    shadow = AiSizer(base, AiSizerParams(mode=SizerMode.SHADOW))
    signal = sig(0.5, 0.9)
    original = base.size(signal, ctx(btc)).intent
    result = shadow.size(signal, ctx(btc))
    assert result.intent == original and result.intent is not None
    assert result.intent.ai_size_usd is None and result.intent.leverage is None
    ai = result.record["ai"]
    assert ai["mode"] == "SHADOW" and ai["applied"] is False
    proposal = (ai["size_usd"], ai["leverage"], ai["policy"], ai["quantity"])
    assert proposal == ("185.00", "72", "TREND_RUNNER", "0.666")
    assert AiSizerParams().mode is SizerMode.SHADOW  # the safe default


@pytest.mark.parametrize("mode", list(SizerMode))
@pytest.mark.parametrize(
    ("broken", "error_type"),
    [(sig(0.5, 0.9, atr=None), "SizerInputError"), (sig(0.5, 0.9, atr=float("nan")), "SizerInputError"),
     (sig(0.5, 0.9, price=0.01), "DivisionByZero")],
)
def test_a_failure_leaves_the_intent_unchanged_and_is_recorded(
    btc: Instrument, mode: SizerMode, broken: Signal, error_type: str
) -> None:
    base = FixedFractionSizer()
    expected = base.size(broken, ctx(btc)).intent
    result = AiSizer(base, AiSizerParams(mode=mode)).size(broken, ctx(btc))
    assert result.intent == expected
    ai = result.record["ai"]
    assert (ai["status"], ai["code"], ai["error_type"], ai["applied"]) == (
        "failed", reasons.SIZER_FAILURE, error_type, False)


def test_exits_are_never_ai_sized(btc: Instrument) -> None:
    result = live().size(sig(-0.5, 0.9), ctx(btc, position="0.5"))
    assert result.intent is not None and result.intent.reduce_only
    assert result.intent.quantity == Decimal("0.5") and result.intent.ai_size_usd is None
    assert result.record["ai"]["status"] == "skipped"


def test_live_sizes_an_entry_the_base_sizer_could_not(btc: Instrument) -> None:
    tiny = FixedFractionSizer(FixedFractionParams(fraction=Decimal("0.00000001")))
    signal = sig(0.5, 0.9)
    assert tiny.size(signal, ctx(btc)).intent is None
    intent = AiSizer(tiny, AiSizerParams(mode=SizerMode.LIVE)).size(signal, ctx(btc)).intent
    assert intent is not None and intent.quantity == Decimal("0.666")
    assert intent.intent_id == "BTCUSDT-20221213T100000-0"
    shadow = AiSizer(tiny, AiSizerParams(mode=SizerMode.SHADOW)).size(signal, ctx(btc))
    assert shadow.intent is None and shadow.record["ai"]["quantity"] == "0.666"


def test_parameters_are_validated() -> None:
    with pytest.raises(ValueError, match="min_leverage"):
        AiSizerParams(min_leverage=Decimal(90))
    with pytest.raises(ValueError, match="swing_from"):
        HarvestConfig(swing_from=0.9, trend_runner_from=0.5)
    with pytest.raises(ValueError, match="mode"):
        AiSizerParams(mode="YOLO")  # type: ignore[arg-type]
