"""Trade intent schema v1.1 (v1.0 accepted): valid forms, tolerated extras, every kind of invalid field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tradebot.domain import reasons
from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.domain.orders import HarvestPolicy, IntentSource, OrderType, Side, TimeInForce
from tradebot.intents import IntentValidationError, parse_intent, parse_intent_detailed

NOW = datetime(2024, 7, 1, 23, 45, tzinfo=UTC)

INSTRUMENTS = {
    "MES": Instrument("MES", "CME", AssetClass.FUTURE, "USD", Decimal("0.25"), Decimal(1), Decimal(1),
                      multiplier=Decimal(5), calendar="CME"),
    "BTCUSDT": Instrument("BTCUSDT", "BINANCE", AssetClass.PERPETUAL, "USDT", Decimal("0.1"),
                          Decimal("0.001"), Decimal("0.001"), min_notional=Decimal(100)),
}


def v10(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"intent_id": "ext-1", "symbol": "MES", "side": "BUY", "quantity": 1,
                            "reference_price": "5500.25", "confidence": 0.8}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def v11(**overrides: Any) -> dict[str, Any]:
    return v10(schema_version="1.1", **overrides)


def test_v10_minimal_intent() -> None:
    intent = parse_intent(v10(), INSTRUMENTS, NOW)
    assert (intent.intent_id, intent.symbol) == ("ext-1", "MES")
    assert (intent.side, intent.quantity) == (Side.BUY, Decimal(1))
    assert intent.reference_price == Decimal("5500.25") and intent.order_type is OrderType.MARKET
    assert intent.schema_version == "1.0" and intent.source is IntentSource.EXTERNAL
    assert intent.ts == NOW and intent.tif is TimeInForce.DAY and not intent.reduce_only
    assert intent.ai_size_usd is None


def test_v10_full_intent_with_exit_plan() -> None:
    intent = parse_intent(v10(
        schema_version="1.0", side="sell", order_type="limit", limit_price="5501.00", tif="gtc",
        ts="2024-07-01T23:44:00Z", exit_plan={"stop_loss": "5505.00", "take_profit": "5490.50",
                                               "time_stop_s": 900, "policy": "swing"},
    ), INSTRUMENTS, NOW)
    assert intent.side is Side.SELL and intent.order_type is OrderType.LIMIT and intent.tif is TimeInForce.GTC
    assert intent.limit_price == Decimal("5501.00") and intent.ts == NOW - timedelta(minutes=1)
    assert intent.exit_plan is not None
    plan = intent.exit_plan
    assert (plan.stop_loss, plan.take_profit) == (Decimal("5505.00"), Decimal("5490.50"))
    assert intent.exit_plan.time_stop_s == 900 and intent.exit_plan.policy is HarvestPolicy.SWING


def test_v11_ai_fields() -> None:
    intent = parse_intent(v11(ai_size_usd="250.5", ai_leverage=20, ai_harvest_policy={"mode": "TREND_RUNNER",
                                                                                       "trail_pct": 0.5},
                              risk_budget_usd=30), INSTRUMENTS, NOW)
    assert intent.schema_version == "1.1"
    assert (intent.ai_size_usd, intent.ai_leverage, intent.risk_budget_usd) == (
        Decimal("250.5"), Decimal(20), Decimal(30))
    assert intent.ai_harvest_policy is HarvestPolicy.TREND_RUNNER


def test_v11_quantity_may_come_from_ai_size() -> None:
    body = v11(symbol="BTCUSDT", quantity=None, reference_price="60000", ai_size_usd=300, ai_leverage=10)
    intent = parse_intent(body, INSTRUMENTS, NOW)
    assert intent.quantity == Decimal("0.050")  # 300 x 10 / 60000, down on the 0.001 lot grid


def test_v11_fields_under_v10_are_ignored_not_applied() -> None:
    parsed = parse_intent_detailed(v10(ai_size_usd="oops", ai_leverage=50), INSTRUMENTS, NOW)
    assert parsed.intent.ai_leverage is None and parsed.intent.ai_size_usd is None
    assert parsed.ignored == {"ai_size_usd": "oops", "ai_leverage": 50}


def test_unknown_extra_fields_are_tolerated_and_recorded() -> None:
    parsed = parse_intent_detailed(v11(strategy_tag="mr-7", routing={"venue": "x"}), INSTRUMENTS, NOW)
    assert parsed.ignored == {"strategy_tag": "mr-7", "routing": {"venue": "x"}}
    assert parsed.intent == parse_intent(v11(), INSTRUMENTS, NOW)


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("schema_version", v10(schema_version="2.0"), "schema_version"),
    ("missing id", v10(intent_id=None), "intent_id"),
    ("id charset", v10(intent_id="has space"), "intent_id"),
    ("missing symbol", v10(symbol=None), "symbol"),
    ("unknown symbol", v10(symbol="DOGE"), "symbol"),
    ("side", v10(side="HOLD"), "side"),
    ("quantity negative", v10(quantity=-1), "quantity"),
    ("quantity zero", v10(quantity=0), "quantity"),
    ("quantity off lot", v10(quantity="1.5"), "quantity"),
    ("quantity text", v10(quantity="one"), "quantity"),
    ("quantity bool", v10(quantity=True), "quantity"),
    ("quantity NaN", v10(quantity="NaN"), "quantity"),
    ("quantity missing", v10(quantity=None), "quantity"),
    ("order_type", v10(order_type="ICEBERG"), "order_type"),
    ("trailing refused", v10(order_type="TRAILING_STOP"), "order_type"),
    ("limit needs price", v10(order_type="LIMIT"), "limit_price"),
    ("stop needs price", v10(order_type="STOP"), "stop_price"),
    ("limit off tick", v10(order_type="LIMIT", limit_price="5500.10"), "limit_price"),
    ("limit on market", v10(limit_price="5500.00"), "limit_price"),
    ("stop on limit", v10(order_type="LIMIT", limit_price="5500", stop_price="5499"), "stop_price"),
    ("reference missing", v10(reference_price=None), "reference_price"),
    ("reference negative", v10(reference_price=-5), "reference_price"),
    ("tif", v10(tif="FOREVER"), "tif"),
    ("reduce_only text", v10(reduce_only="yes"), "reduce_only"),
    ("confidence high", v10(confidence=1.5), "confidence"),
    ("confidence text", v10(confidence="high"), "confidence"),
    ("ts naive", v10(ts="2024-07-01T23:40:00"), "ts"),
    ("ts future", v10(ts="2024-07-02T00:00:00Z"), "ts"),
    ("ts garbage", v10(ts="yesterday"), "ts"),
    ("leverage zero", v10(leverage=0), "leverage"),
    ("exit unknown key", v10(exit_plan={"stop_los": "5490"}), "exit_plan.stop_los"),
    ("exit stop off tick", v10(exit_plan={"stop_loss": "5490.1"}), "exit_plan.stop_loss"),
    ("exit sides", v10(exit_plan={"stop_loss": "5510", "take_profit": "5490"}), "exit_plan.stop_loss"),
    ("exit time stop", v10(exit_plan={"time_stop_s": -5}), "exit_plan.time_stop_s"),
    ("exit on reduce_only", v10(reduce_only=True, exit_plan={"stop_loss": "5490"}), "exit_plan"),
    ("ai_size_usd", v11(ai_size_usd=-10), "ai_size_usd"),
    ("ai_size too small", v11(quantity=None, ai_size_usd=10), "ai_size_usd"),
    ("ai_leverage", v11(ai_leverage="x"), "ai_leverage"),
    ("ai_harvest_policy", v11(ai_harvest_policy="YOLO"), "ai_harvest_policy"),
    ("ai_harvest_policy object", v11(ai_harvest_policy={"name": "SWING"}), "ai_harvest_policy"),
    ("risk_budget_usd", v11(risk_budget_usd=0), "risk_budget_usd"),
]


@pytest.mark.parametrize(("case", "body", "field"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_field_is_named(case: str, body: dict[str, Any], field: str) -> None:
    with pytest.raises(IntentValidationError) as info:
        parse_intent(body, INSTRUMENTS, NOW)
    assert info.value.field == field, f"{case}: {info.value}"
    assert info.value.code == reasons.INTENT_INVALID
    assert str(info.value).startswith(field)


def test_stale_intents_are_refused_when_an_age_limit_is_set() -> None:
    body = v10(ts="2024-07-01T23:00:00Z")
    assert parse_intent(body, INSTRUMENTS, NOW).ts.hour == 23
    with pytest.raises(IntentValidationError, match="older"):
        parse_intent(body, INSTRUMENTS, NOW, max_age_s=60)


def test_not_an_object() -> None:
    with pytest.raises(IntentValidationError) as info:
        parse_intent(["MES", "BUY"], INSTRUMENTS, NOW)
    assert info.value.field == "<root>"


def test_every_problem_is_listed() -> None:
    with pytest.raises(IntentValidationError) as info:
        parse_intent({"symbol": "MES", "side": "UP", "quantity": "x"}, INSTRUMENTS, NOW)
    fields = {f for f, _ in info.value.problems}
    assert {"intent_id", "side", "quantity"} <= fields
