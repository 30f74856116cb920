"""The portfolio's weight caps as a property: no sequence of entries leaves the portfolio above any cap."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from portfolio_testkit import CHAINS, CLUSTERS, CORRELATIONS, INSTRUMENTS, PRICES, RETURNS
from risk_testkit import ctx, intent

from tradebot.risk.portfolio_returns import ReturnSums
from tradebot.risk.portfolio_weights import weight

CAPS = {"cluster": Decimal("0.25"), "group": Decimal("0.35")}


def group_of(symbol: str, held: set[str]) -> set[str]:
    def corr(a: str, b: str) -> float:
        return CORRELATIONS.get((min(a, b), max(a, b)), 0.0)

    return {symbol} | {s for s in held if s != symbol and corr(symbol, s) > 0.8}


entries = st.lists(
    st.tuples(st.sampled_from(sorted(INSTRUMENTS)), st.decimals(Decimal("0.001"), Decimal(40), places=3)),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(entries, st.decimals(Decimal(2000), Decimal(200000), places=0), st.sampled_from(sorted(CHAINS)))
def test_no_sequence_of_entries_leaves_the_portfolio_above_a_cap(
    orders: list[tuple[str, Decimal]], equity: Decimal, symbol_cap: Decimal
) -> None:
    chain = CHAINS[symbol_cap]
    exposures: dict[str, Decimal] = {}
    for n, (symbol, quantity) in enumerate(orders):
        instrument = INSTRUMENTS[symbol]
        qty = instrument.round_qty(quantity)
        if qty <= 0:
            continue
        order = intent(
            intent_id=f"e{n}", symbol=symbol, quantity=qty, reference_price=PRICES[symbol], exit_plan=None
        )
        context = ctx(
            instrument=instrument,
            last_price=PRICES[symbol],
            equity=equity,
            exposure_by_symbol=dict(exposures),
            positions={s: e / PRICES[s] for s, e in exposures.items()},
            views={ReturnSums: RETURNS},
        )
        decision = chain.evaluate(order, context)
        if decision.approved is None:
            continue
        exposures[symbol] = exposures.get(symbol, Decimal(0)) + instrument.notional(
            PRICES[symbol], decision.approved.quantity
        )
        gross = sum(exposures.values(), Decimal(0))
        for value in exposures.values():
            assert weight(value, gross, equity) <= symbol_cap
        for cluster in set(CLUSTERS.values()):
            part = sum((v for s, v in exposures.items() if CLUSTERS.get(s) == cluster), Decimal(0))
            assert weight(part, gross, equity) <= CAPS["cluster"]
        group = group_of(symbol, set(exposures))
        if len(group) > 1:
            part = sum((exposures.get(s, Decimal(0)) for s in group), Decimal(0))
            assert weight(part, gross, equity) <= CAPS["group"]
