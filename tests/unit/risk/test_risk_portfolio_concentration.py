from decimal import Decimal

from portfolio_testkit import CHAINS, IWM, QQQ, RETURNS
from risk_testkit import ctx, intent

from tradebot.risk.portfolio_returns import ReturnSums


def test_an_entry_is_cut_to_what_each_cap_leaves_and_the_record_names_the_cap() -> None:
    chain = CHAINS[Decimal(1)]
    held = {"SPY": Decimal(2000)}  # 20 % of $10,000 in the us_index cluster
    base = {"equity": Decimal(10000), "exposure_by_symbol": held, "views": {ReturnSums: RETURNS}}
    iwm = intent(symbol="IWM", quantity=Decimal(20), reference_price=Decimal(200), exit_plan=None)
    decision = chain.evaluate(iwm, ctx(instrument=IWM, last_price=Decimal(200), **base))
    # the cluster may hold $2,500: IWM gets $500 = 2 shares (20 asked)
    assert decision.approved is not None and decision.approved.quantity == Decimal(2)
    verdict = decision.verdicts[0]
    assert verdict.code == "RISK_CAP_PORTFOLIO" and Decimal(verdict.details["cluster"]["room_usd"]) == 500
    qqq = intent(symbol="QQQ", quantity=Decimal(20), reference_price=Decimal(400), exit_plan=None)
    decision = chain.evaluate(qqq, ctx(instrument=QQQ, last_price=Decimal(400), **base))
    # QQQ moves with SPY (0.9): the group may hold $3,500, so QQQ gets $1,500 = 3 shares
    assert decision.approved is not None and decision.approved.quantity == Decimal(3)
    group = decision.verdicts[1]
    assert group.code == "CORR_CLUSTER_CAP" and group.details["members"] == ["QQQ", "SPY"]
    assert group.details["correlations"] == {"SPY": "0.9000"}
