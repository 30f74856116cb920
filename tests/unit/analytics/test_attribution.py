"""The attribution rules on plain evidence: each code's condition, the order in which codes outrank each
other, and (Hypothesis) that every trade gets exactly one known code, planned only when nothing went wrong."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradebot.analytics.attribution import CODES, PLANNED, AttributionRules, TradeEvidence, attribute

RULES = AttributionRules()
BASE = TradeEvidence(
    key="ES|e|x",
    symbol="ES",
    exit_role="target",
    pnl_gross=Decimal(100),
    pnl_net=Decimal(90),
    planned_risk=Decimal(100),
    slippage_cost=Decimal(0),
    worst_slippage_bps=Decimal(1),
    order_faults=(),
    data_issues=(),
    halts=(),
)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({}, "A0"),
        ({"exit_role": "stop", "pnl_gross": Decimal(-100), "pnl_net": Decimal(-110)}, "A1"),
        ({"exit_role": "flatten"}, "A2"),
        ({"exit_role": "time_stop"}, "A2"),
        ({"exit_role": "signal", "pnl_gross": Decimal(5), "pnl_net": Decimal(-5)}, "A3"),
        ({"exit_role": "stop", "worst_slippage_bps": Decimal(15)}, "A4"),
        ({"exit_role": "signal"}, "A5"),
        ({"exit_role": "reversal"}, "A5"),
        ({"data_issues": ("BAR_OHLC_INCONSISTENT at t",)}, "A6"),
        ({"order_faults": ("rejected c",)}, "A7"),
        ({"exit_role": "operator"}, "A8"),
        ({"exit_role": "flatten", "halts": ("HALTED DAILY_LOSS_CAP at t",)}, "A8"),
        ({"exit_role": ""}, "A9"),
        ({"exit_role": "flatten", "pnl_gross": Decimal(-151), "pnl_net": Decimal(-160)}, "A9"),
    ],
)
def test_each_code_has_its_condition(change: dict[str, object], code: str) -> None:
    result = attribute(replace(BASE, **change), RULES)  # type: ignore[arg-type]
    assert result.code == code
    assert result.reasons[0].startswith(code)


def test_a_halt_does_not_reattribute_the_trades_own_bracket() -> None:
    """A halt while a trade was open, closed by its own stop: the plan worked (A1), not the halt."""
    evidence = replace(BASE, exit_role="stop", pnl_gross=Decimal(-90), halts=("HALTED X at t",))
    assert attribute(evidence, RULES).code == "A1"


def test_a_loss_explained_by_slippage_is_not_a_mystery() -> None:
    """Lost 1.6× the planned risk, of which 0.2× was slippage beyond the plan: 1.4× is within 1.5×."""
    evidence = replace(BASE, exit_role="flatten", pnl_gross=Decimal(-160), slippage_cost=Decimal(20))
    assert attribute(evidence, RULES).code == "A2"
    assert attribute(replace(evidence, slippage_cost=Decimal(5)), RULES).code == "A9"


def test_faults_explain_a_loss_beyond_plan() -> None:
    evidence = replace(BASE, exit_role="flatten", pnl_gross=Decimal(-300), data_issues=("bar refused",))
    result = attribute(evidence, RULES)
    assert result.code == "A6"
    assert "A9" not in result.flags


def test_precedence_lists_every_flag_that_held() -> None:
    evidence = replace(
        BASE,
        exit_role="operator",
        order_faults=("partial c",),
        data_issues=("stale",),
        worst_slippage_bps=Decimal(40),
        pnl_gross=Decimal(3),
        pnl_net=Decimal(-1),
    )
    result = attribute(evidence, RULES)
    assert result.code == "A8"
    assert result.flags == ("A3", "A4", "A6", "A7", "A8")


def test_thresholds_come_from_the_rules() -> None:
    evidence = replace(BASE, exit_role="stop", worst_slippage_bps=Decimal(10))
    assert attribute(evidence, RULES).code == "A1"
    assert attribute(evidence, AttributionRules(adverse_slippage_bps=Decimal(8))).code == "A4"


money = st.decimals(min_value=-10_000, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)
roles = st.sampled_from(["target", "stop", "flatten", "time_stop", "signal", "reversal", "operator", "", "x"])


@given(
    role=roles,
    gross=money,
    fees=st.decimals(min_value=0, max_value=100, places=2),
    risk=st.none() | st.decimals(min_value=0, max_value=1_000, places=2),
    slip=st.none() | st.decimals(min_value=-50, max_value=50, places=2),
    faults=st.lists(st.text(min_size=1, max_size=5), max_size=2),
    issues=st.lists(st.text(min_size=1, max_size=5), max_size=2),
    halts=st.lists(st.text(min_size=1, max_size=5), max_size=2),
)
def test_every_trade_gets_one_known_code(
    role: str,
    gross: Decimal,
    fees: Decimal,
    risk: Decimal | None,
    slip: Decimal | None,
    faults: list[str],
    issues: list[str],
    halts: list[str],
) -> None:
    evidence = TradeEvidence(
        "k",
        "ES",
        role,
        gross,
        gross - fees,
        risk,
        Decimal(0),
        slip,
        tuple(faults),
        tuple(issues),
        tuple(halts),
    )
    result = attribute(evidence, RULES)
    assert result.code in CODES
    assert result.code in result.flags
    went_wrong = bool(faults or issues or role == "operator") or (slip is not None and slip >= 15)
    if result.code in PLANNED:
        assert not went_wrong
        assert not (gross > 0 > gross - fees)  # costs dominating outranks the plan
    if faults:
        assert result.code in ("A8", "A7")
