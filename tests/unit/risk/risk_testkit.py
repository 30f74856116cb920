"""Shared builders for the risk tests: real instruments, the real constitution file, intents, contexts."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.domain.orders import ExitPlan, OrderIntent, Side
from tradebot.domain.state import Mode, TradingState
from tradebot.risk.constitution import Constitution, load_constitution
from tradebot.risk.context import GateContext
from tradebot.risk.rule_states import rule_states

ROOT = Path(__file__).resolve().parents[3]
CONSTITUTION_PATH = ROOT / "config" / "constitution.yaml"

MES = Instrument(
    symbol="MES",
    venue="CME",
    asset_class=AssetClass.FUTURE,
    currency="USD",
    tick_size=Decimal("0.25"),
    lot_step=Decimal(1),
    min_qty=Decimal(1),
    multiplier=Decimal(5),
    calendar="CME",
)
BTC = Instrument(
    symbol="BTCUSDT",
    venue="BINANCE",
    asset_class=AssetClass.PERPETUAL,
    currency="USDT",
    tick_size=Decimal("0.1"),
    lot_step=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    min_notional=Decimal(5),
    calendar="24/7",
)
SPY = Instrument(
    symbol="SPY",
    venue="ALPACA",
    asset_class=AssetClass.EQUITY,
    currency="USD",
    tick_size=Decimal("0.01"),
    lot_step=Decimal(1),
    min_qty=Decimal(1),
    calendar="XNYS",
)
INSTRUMENTS = {i.symbol: i for i in (MES, BTC, SPY)}

# Tuesday 2024-03-12 11:00 New York (EDT, UTC-4): RTH, outside every no-trade window
NOW = datetime(2024, 3, 12, 15, 0, tzinfo=UTC)

_CONSTITUTION: Constitution | None = None


def constitution() -> Constitution:
    global _CONSTITUTION
    if _CONSTITUTION is None:
        _CONSTITUTION = load_constitution(CONSTITUTION_PATH)
    return _CONSTITUTION


def with_rules(symbol: str = "MES", **sections: dict[str, Any]) -> Constitution:
    """The real constitution with some of one instrument's fields replaced."""
    base = constitution()
    rules = base.rules_for(symbol)
    updates = {name: getattr(rules, name).model_copy(update=fields) for name, fields in sections.items()}
    new_rules = rules.model_copy(update=updates)
    return base.model_copy(update={"instruments": {**base.instruments, symbol: new_rules}})


def intent(**overrides: Any) -> OrderIntent:
    """A MES long of 1 at 4500 with a 12-tick stop ($15 risk), confidence 0.8."""
    values: dict[str, Any] = {
        "intent_id": "MES-20240312T150000-0",
        "symbol": "MES",
        "side": Side.BUY,
        "quantity": Decimal(1),
        "ts": NOW,
        "reference_price": Decimal(4500),
        "confidence": 0.8,
        "regime": "trend",
        "exit_plan": ExitPlan(stop_loss=Decimal(4497), take_profit=Decimal(4506)),
        "bar_ts": NOW,
    }
    values.update(overrides)
    return OrderIntent(**values)


def fresh_views() -> dict[type, object]:
    """The views the rules' states give before they have seen any event (a run's first bar)."""
    views: dict[type, object] = {}
    for state in rule_states({"MES": MES}):
        view = state.view(intent(), NOW)
        if view is not None:
            views[type(view)] = view
    return views


def ctx(**overrides: Any) -> GateContext:
    """A gate context: a fresh run's (``fresh_views``) unless ``views`` is given."""
    values: dict[str, Any] = {
        "views": fresh_views(),
        "now": NOW,
        "mode": Mode.OBSERVE,
        "trading_state": TradingState.ACTIVE,
        "instrument": MES,
        "last_price": Decimal(4500),
        "equity": Decimal(10000),
    }
    values.update(overrides)
    return GateContext(**values)


def replace(obj: Any, **changes: Any) -> Any:
    return dataclasses.replace(obj, **changes)
