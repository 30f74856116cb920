"""A small portfolio for the portfolio rules' tests: four instruments, two clusters' worth of correlations."""

import dataclasses
from datetime import date
from decimal import Decimal

from risk_testkit import BTC, SPY, constitution

from tradebot.risk.build import build_chain
from tradebot.risk.constitution import Constitution
from tradebot.risk.portfolio_returns import DaySums, PairSums, ReturnSums

QQQ = dataclasses.replace(SPY, symbol="QQQ")  # two more US ETFs, traded as SPY is
IWM = dataclasses.replace(SPY, symbol="IWM")
INSTRUMENTS = {i.symbol: i for i in (SPY, QQQ, IWM, BTC)}
PRICES = {"SPY": Decimal(500), "QQQ": Decimal(400), "IWM": Decimal(200), "BTCUSDT": Decimal(60000)}
CLUSTERS = {"SPY": "us_index", "IWM": "us_index"}  # QQQ moves with SPY but is in no cluster
CORRELATIONS = {("QQQ", "SPY"): 0.9, ("IWM", "QQQ"): 0.85, ("IWM", "SPY"): 0.7}
DAY = date(2024, 3, 12)


def portfolio_constitution(symbol_cap: Decimal) -> Constitution:
    base = constitution()
    rules = {}
    for symbol in INSTRUMENTS:
        portfolio = base.default.portfolio.model_copy(
            update={
                "cluster": CLUSTERS.get(symbol),
                "target_annual_vol": None,
                "max_symbol_weight": symbol_cap,
            }
        )
        rules[symbol] = base.default.model_copy(update={"portfolio": portfolio})
    return base.model_copy(update={"instruments": rules})


GATES = ("portfolio_concentration", "correlation_cap", "vol_target")
# the seed's caps, and a symbol cap of 100 % so that the cluster and group caps are the ones that bind
CHAINS = {cap: build_chain(GATES, portfolio_constitution(cap)) for cap in (Decimal("0.12"), Decimal(1))}
RETURNS = ReturnSums(
    {s: (DaySums(DAY, 390, 0.0001),) for s in INSTRUMENTS},
    {pair: (PairSums(DAY, 390, corr, 1.0, 1.0),) for pair, corr in CORRELATIONS.items()},
    {s: 252 for s in INSTRUMENTS},
    {s: INSTRUMENTS[s].notional(PRICES[s], Decimal(1)) for s in INSTRUMENTS},
)
