"""Cancel several orders: in one call when the broker offers one (``BatchCancel``), else one by one."""

from __future__ import annotations

from collections.abc import Sequence

from tradebot.brokers.protocol import BatchCancel, Broker


async def cancel_orders(broker: Broker, client_order_ids: Sequence[str]) -> None:
    """Ask the venue to cancel each order, in the order given. One by one, the first error stops the rest
    (as a batch call's error does): the orders after it were not asked."""
    if not client_order_ids:
        return
    if isinstance(broker, BatchCancel):
        await broker.cancel_orders(client_order_ids)
        return
    for client_order_id in client_order_ids:
        await broker.cancel(client_order_id)
