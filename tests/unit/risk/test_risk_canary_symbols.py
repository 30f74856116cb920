"""Canary gate: entries outside canary_symbols are blocked with CANARY_SYMBOL_BLOCK; exits pass."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.domain.orders import OrderIntent, Side
from tradebot.domain.state import Mode, TradingState
from tradebot.risk.canary_symbols import CanarySymbolsGate
from tradebot.risk.chain import GateChain
from tradebot.risk.context import GateContext
from tradebot.risk.verdict import Outcome

NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def _ctx(symbol: str) -> GateContext:
    inst = Instrument(symbol, "SIM", AssetClass.EQUITY, "USD", Decimal("0.01"), Decimal(1), Decimal(1))
    return GateContext(NOW, Mode.REPLAY, TradingState.ACTIVE, inst, Decimal(100), Decimal(10000))


def _intent(symbol: str, reduce_only: bool = False) -> OrderIntent:
    return OrderIntent(
        f"{symbol}-1", symbol, Side.BUY, Decimal(1), NOW, Decimal(100), reduce_only=reduce_only
    )


def test_canary_symbol_passes_and_others_are_blocked() -> None:
    gate = CanarySymbolsGate(["SPY"])
    assert gate.check(_intent("SPY"), _ctx("SPY")).outcome is Outcome.PASS
    verdict = gate.check(_intent("QQQ"), _ctx("QQQ"))
    assert verdict.outcome is Outcome.BLOCK and verdict.code == "CANARY_SYMBOL_BLOCK"
    assert verdict.details == {"symbol": "QQQ", "canary_symbols": ["SPY"]}


def test_exits_pass_in_the_chain_and_in_the_gate_itself() -> None:
    gate = CanarySymbolsGate(["SPY"])
    assert gate.applies_to_exits is False
    exit_intent = _intent("QQQ", reduce_only=True)
    assert gate.check(exit_intent, _ctx("QQQ")).outcome is Outcome.PASS
    decision = GateChain([gate], "h").evaluate(exit_intent, _ctx("QQQ"))
    assert decision.approved == exit_intent
    blocked = GateChain([gate], "h").evaluate(_intent("QQQ"), _ctx("QQQ"))
    assert blocked.approved is None and blocked.blocked_by is not None
    assert blocked.blocked_by.code == "CANARY_SYMBOL_BLOCK"


def test_empty_canary_list_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="canary_symbols"):
        CanarySymbolsGate([])
