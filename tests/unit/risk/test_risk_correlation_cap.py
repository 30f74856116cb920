from decimal import Decimal

from portfolio_testkit import CHAINS, RETURNS
from risk_testkit import BTC, SPY, ctx, intent

from tradebot.risk.portfolio_returns import ReturnSums


def test_a_cap_with_no_room_left_blocks_and_an_uncorrelated_entry_is_no_group() -> None:
    chain = CHAINS[Decimal("0.12")]
    base = {"equity": Decimal(10000), "views": {ReturnSums: RETURNS}}
    spy = intent(symbol="SPY", quantity=Decimal(1), reference_price=Decimal(500), exit_plan=None)
    full = ctx(instrument=SPY, last_price=Decimal(500), exposure_by_symbol={"SPY": Decimal(1200)}, **base)
    blocked = chain.evaluate(spy, full).blocked_by
    assert (
        blocked is not None
        and blocked.code == "RISK_CAP_PORTFOLIO"
        and Decimal(blocked.details["room_usd"]) == 0
    )
    btc = intent(symbol="BTCUSDT", quantity=Decimal("0.01"), reference_price=Decimal(60000), exit_plan=None)
    alone = chain.evaluate(btc, ctx(instrument=BTC, last_price=Decimal(60000), **base))
    assert alone.approved is not None and alone.verdicts[1].details["group"] == "none"
