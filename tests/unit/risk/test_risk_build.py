import pytest
from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.domain.state import TradingState
from tradebot.risk.build import DEFAULT_CHAIN, ChainConfigError, build_chain
from tradebot.risk.registry import GateConfig


def test_builds_the_default_chain_in_order() -> None:
    chain = build_chain(DEFAULT_CHAIN, constitution())
    assert [g.name for g in chain.gates] == list(DEFAULT_CHAIN)
    decision = chain.evaluate(intent(), ctx())
    assert decision.approved is not None, decision.blocked_by


def test_order_is_configuration() -> None:
    chain = build_chain(["dvs_floor", "trading_state"], constitution())
    decision = chain.evaluate(intent(), ctx(dvs=0.1, trading_state=TradingState.HALTED))
    assert decision.blocked_by is not None and decision.blocked_by.code == reasons.DVS_BLOCK


def test_unknown_and_repeated_names_are_listed() -> None:
    with pytest.raises(ChainConfigError, match=r"unknown gate 'nope'.*listed twice"):
        build_chain(["nope", "governor", "governor"], constitution())


def test_hash_covers_chain_and_settings() -> None:
    a = build_chain(DEFAULT_CHAIN, constitution()).config_hash
    b = build_chain(DEFAULT_CHAIN[:-1], constitution()).config_hash
    c = build_chain(DEFAULT_CHAIN, constitution(), GateConfig(canary_symbols=("MES",))).config_hash
    assert len({a, b, c}) == 3
    assert (
        build_chain(DEFAULT_CHAIN, constitution(), {"canary_symbols": ["SPY"]})
        .evaluate(intent(), ctx())
        .blocked_by.code
        == reasons.CANARY_SYMBOL_BLOCK
    )  # type: ignore[union-attr]
