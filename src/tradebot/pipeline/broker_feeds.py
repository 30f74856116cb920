"""Bars from a broker's feed for every instrument of the run, as one source.

Each instrument's ``broker.bars(instrument, bar_size_s)`` runs in a task of its own; their bars go on in the
order they arrive (live bars of one minute from several instruments arrive within moments of each other;
there is no file order to keep). An instrument's stream that fails fails the source: the run's stage
failure path records it and halts (fail closed) rather than trading on a partial feed. When every stream
has ended the source ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from tradebot.brokers.protocol import Broker
from tradebot.domain.bars import Bar
from tradebot.domain.instruments import Instrument


@dataclass(frozen=True, slots=True)
class _Ended:
    symbol: str


async def broker_bars(
    broker: Broker, instruments: Sequence[Instrument], bar_size_s: int
) -> AsyncIterator[tuple[None, Bar]]:
    if len(instruments) == 1:
        async for bar in broker.bars(instruments[0], bar_size_s):
            yield (None, bar)
        return
    queue: asyncio.Queue[Bar | _Ended | BaseException] = asyncio.Queue()

    async def pump(instrument: Instrument) -> None:
        try:
            async for bar in broker.bars(instrument, bar_size_s):
                await queue.put(bar)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            await queue.put(exc)
            return
        await queue.put(_Ended(instrument.symbol))

    tasks = [asyncio.create_task(pump(each), name=f"bars-{each.symbol}") for each in instruments]
    try:
        ended = 0
        while ended < len(tasks):
            item = await queue.get()
            if isinstance(item, _Ended):
                ended += 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield (None, item)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
