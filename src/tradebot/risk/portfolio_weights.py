"""Weights of the portfolio an entry would leave behind, and the largest entry a weight cap leaves room for.

Exposure is capital at risk (notional / leverage, working entries included:
``GateContext.exposure_by_symbol``), the unit of the entry policy's caps. A weight is a share of the
portfolio's gross exposure *after* the order, but never of less than the account's equity: a portfolio
half in cash does not call its one position 100 % of itself, so a cap stays meaningful with one or two
instruments.

    weight(part) = exposure(part) / max(gross exposure, equity)

The weight of a part grows with the order, so a cap ``c`` on it allows every order up to one size ``x*``
(the part's exposure ``s``, the gross ``G`` and the equity ``E`` before the order):

    x* = c·E − s                 when the cap binds before the gross reaches the equity (G < E and
                                 s + E − G > c·E: the weight is still a share of E)
    x* = (c·G − s) / (1 − c)     otherwise (a share of the gross; no limit when c = 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import ZERO, exposure, with_quantity
from tradebot.risk.verdict import Verdict

ONE = Decimal(1)


def room_under_cap(cap: Decimal, part: Decimal, gross: Decimal, equity: Decimal) -> Decimal | None:
    """The most exposure an order may add to ``part`` (None: no limit; 0 or less: none)."""
    equity = max(equity, ZERO)
    if gross < equity and part + equity - gross > cap * equity:
        return cap * equity - part
    if cap >= ONE:
        return None
    return (cap * gross - part) / (ONE - cap)


def weight(part: Decimal, gross: Decimal, equity: Decimal) -> Decimal:
    denominator = max(gross, equity)
    return part / denominator if denominator > ZERO else ZERO


def capped(
    gate: str,
    code: str,
    intent: OrderIntent,
    ctx: GateContext,
    *,
    cap: Decimal,
    members: frozenset[str],
    **why: object,
) -> Verdict:
    """The verdict of a weight cap on the exposure of ``members`` (symbols, the intent's among them): pass,
    a smaller entry that fits (CLAMP), or BLOCK when none does (under the instrument's minimum)."""
    exposures: Mapping[str, Decimal] = ctx.exposure_by_symbol
    order = exposure(intent, ctx.instrument)
    part = sum((exposures.get(s, ZERO) for s in members), ZERO)
    gross = ctx.total_exposure
    details = {
        "cap_weight": str(cap),
        "members": sorted(members),
        "exposure_usd": str(part),
        "gross_usd": str(gross),
        "equity_usd": str(ctx.equity),
        "order_usd": str(order),
        "weight_after": str(weight(part + order, gross + order, ctx.equity).quantize(Decimal("0.0001"))),
        **why,
    }
    room = room_under_cap(cap, part, gross, ctx.equity)
    if room is None or order <= room:
        return Verdict.passed(gate, **details)
    room_usd = max(room, ZERO)
    details["room_usd"] = str(room_usd)
    instrument = ctx.instrument
    quantity = instrument.round_qty(intent.quantity * room_usd / order) if order > ZERO else ZERO
    if quantity <= ZERO or not instrument.is_valid_qty(quantity):
        return Verdict.blocked(gate, code, quantity=str(intent.quantity), **details)
    return Verdict.clamped(
        gate,
        code,
        with_quantity(intent, quantity),
        quantity={"from": str(intent.quantity), "to": str(quantity)},
        **details,
    )
