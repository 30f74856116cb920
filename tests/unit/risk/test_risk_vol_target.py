import math
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from risk_testkit import SPY, ctx, intent, with_rules

from tradebot.domain import reasons
from tradebot.domain.orders import Side
from tradebot.risk.portfolio_returns import DaySums, PairSums, ReturnSums
from tradebot.risk.verdict import Outcome
from tradebot.risk.vol_target import VolTargetGate, portfolio_vol

DAY = date(2024, 3, 12)
GATE = VolTargetGate(with_rules("SPY", portfolio={"target_annual_vol": Decimal("0.18")}))


def returns(vols: dict[str, float], corr: float | None = None) -> ReturnSums:
    """Day buckets giving each symbol the annual volatility asked (390 returns a day, 252 days a year)."""
    days = {s: (DaySums(DAY, 390, v * v / 252),) for s, v in vols.items()}
    pairs = {}
    if corr is not None and len(vols) == 2:
        a, b = sorted(vols)
        pairs[(a, b)] = (PairSums(DAY, 390, corr, 1.0, 1.0),)
    unit = {"SPY": Decimal(500), "QQQ": Decimal(400), "MES": Decimal(25000)}
    return ReturnSums(days, pairs, {s: 252 for s in vols}, {s: unit[s] for s in vols})


def spy(quantity: int, side: Side = Side.BUY):  # type: ignore[no-untyped-def]
    return intent(symbol="SPY", quantity=Decimal(quantity), reference_price=Decimal(500), side=side)


def spy_ctx(view: ReturnSums, **kwargs):  # type: ignore[no-untyped-def]
    return ctx(
        instrument=SPY, last_price=Decimal(500), equity=Decimal(10000), views={ReturnSums: view}, **kwargs
    )


def test_an_entry_above_the_target_is_scaled_by_target_over_the_portfolio_volatility() -> None:
    # 40 shares = $20,000 = 2x equity at 35 % a year: 70 % > 18 %, scale 0.257 -> 10.28 -> 10 shares
    verdict = GATE.check(spy(40), spy_ctx(returns({"SPY": 0.35})))
    assert verdict.outcome is Outcome.CLAMP and verdict.code == reasons.VOL_TARGET_SCALE
    assert verdict.intent is not None and verdict.intent.quantity == Decimal(10)
    assert math.isclose(float(verdict.details["scale"]), 0.18 / 0.70)
    assert verdict.details["vol_after"] == "0.7000" and verdict.details["weights"] == {"SPY": "2.0000"}


def test_the_scale_is_clamped_between_its_bounds_and_never_enlarges() -> None:
    low = GATE.check(spy(40), spy_ctx(returns({"SPY": 2.0})))  # 400 %: 0.045 -> 0.25
    assert low.details["scale"] == "0.25" and low.intent is not None and low.intent.quantity == Decimal(10)
    calm = GATE.check(spy(4), spy_ctx(returns({"SPY": 0.10})))  # 4 % -> 4.5 -> 1.25
    assert calm.outcome is Outcome.PASS and calm.details["scale"] == "1.25"


def test_unknown_volatility_takes_the_minimum_scale_and_what_rounds_to_nothing_is_blocked() -> None:
    unknown = GATE.check(spy(40), spy_ctx(ReturnSums({}, {}, {}, {})))
    assert unknown.details["estimate"] == "unknown" and unknown.details["unknown"] == ["SPY"]
    assert unknown.intent is not None and unknown.intent.quantity == Decimal(10)
    blocked = GATE.check(spy(3), spy_ctx(ReturnSums({}, {}, {}, {})))  # 0.75 of a share
    assert blocked.outcome is Outcome.BLOCK and blocked.code == reasons.VOL_TARGET_SCALE


def test_a_hedge_that_lowers_the_portfolio_volatility_passes() -> None:
    view = returns({"SPY": 0.20, "QQQ": 0.25}, corr=0.9)
    held = spy_ctx(view, positions={"QQQ": Decimal(50)})  # $20,000 of QQQ long
    verdict = GATE.check(spy(20, Side.SELL), held)
    assert verdict.outcome is Outcome.PASS and verdict.details["lowers_volatility"] is True
    adding = GATE.check(spy(20), held)
    assert adding.outcome is Outcome.CLAMP


def test_a_pair_without_a_known_correlation_adds_its_risk() -> None:
    vols = {"SPY": 0.2, "QQQ": 0.2}
    known = portfolio_vol({"SPY": 1.0, "QQQ": -1.0}, vols, returns(vols, corr=0.9), 20)
    unknown = portfolio_vol({"SPY": 1.0, "QQQ": -1.0}, vols, returns(vols), 20)
    assert math.isclose(unknown, 0.4) and known < unknown


def test_exits_pass_and_null_is_no_target() -> None:
    assert not GATE.applies_to_exits
    off = VolTargetGate(with_rules("SPY", portfolio={"target_annual_vol": None}))
    assert off.check(spy(40), spy_ctx(returns({"SPY": 2.0}))).details == {"target": "none"}


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 500), st.floats(0.01, 3.0), st.integers(0, 100))
def test_an_approved_entry_is_never_more_than_the_clamped_scale_allows(
    qty: int, vol: float, held: int
) -> None:
    view = returns({"SPY": vol})
    verdict = GATE.check(spy(qty), spy_ctx(view, positions={"SPY": Decimal(held)} if held else {}))
    if verdict.outcome is Outcome.BLOCK:
        return
    approved = verdict.intent.quantity if verdict.intent is not None else Decimal(qty)
    assert approved <= qty
    scale = Decimal(verdict.details.get("scale", "1"))
    if scale < 1:
        assert approved <= Decimal(qty) * scale and approved >= Decimal(qty) * scale - 1
