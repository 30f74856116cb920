"""Positions and account summary: IB's reports → our reconciliation snapshots."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory, ErrorClass, ErrorScope
from tradebot.domain.events import AccountSnapshot, PositionSnapshot
from tradebot_ibkr import errors as E

SUMMARY_TAGS = "NetLiquidation,BuyingPower,TotalCashValue"


def _dec(value: float | str) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def position_snapshots(positions: Iterable[Any], account: str) -> list[PositionSnapshot]:
    """ib_async ``Position`` rows → non-zero PositionSnapshots; IB's avgCost includes the multiplier."""
    out: list[PositionSnapshot] = []
    for p in positions:
        if account and p.account != account:
            continue
        qty = _dec(float(p.position))
        if qty == 0:
            continue
        multiplier = Decimal(str(p.contract.multiplier or "1"))
        avg = _dec(float(p.avgCost)) / multiplier
        out.append(PositionSnapshot(symbol=str(p.contract.symbol), quantity=qty, avg_price=avg))
    return sorted(out, key=lambda s: s.symbol)


def account_snapshot(values: Iterable[Any], account: str) -> AccountSnapshot:
    """Account summary rows (account, tag, value, currency) → AccountSnapshot; both tags are required."""
    found: dict[str, tuple[str, str, str]] = {}
    for v in values:
        if account and v.account != account:
            continue
        found[str(v.tag)] = (str(v.value), str(v.currency), str(v.account))
    missing = [tag for tag in ("NetLiquidation", "BuyingPower") if tag not in found]
    if missing:
        cls = ErrorClass(
            ErrorCategory.PROVIDER_SCHEMA,
            ErrorScope.PROVIDER,
            ErrorAction.RETRY,
            E.IB_ERROR,
            details={"missing_tags": missing},
        )
        raise BrokerError(f"IB account summary lacks {', '.join(missing)}", cls)
    net, currency, acct = found["NetLiquidation"]
    buying_power = found["BuyingPower"][0]
    return AccountSnapshot(
        currency=currency or "USD", equity=Decimal(net), buying_power=Decimal(buying_power), account_id=acct
    )


async def fetch_account_summary(ib: Any, timeout: float) -> list[Any]:
    """One reqAccountSummary round trip, cancelled afterwards (TWS allows only two live subscriptions)."""
    req_id = ib.client.getReqId()
    future = ib.wrapper.startReq(req_id)
    ib.client.reqAccountSummary(req_id, "All", SUMMARY_TAGS)
    try:
        await asyncio.wait_for(future, timeout)
    finally:
        if ib.isConnected():
            ib.client.cancelAccountSummary(req_id)
    return list(ib.wrapper.acctSummary.values())
