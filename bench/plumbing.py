"""Stage plumbing: items per second through 4 stages (source, 2 pass-through stages, sink), 3 hops.

Variants: ``tradebot.pipeline.channel`` (the fast path the pipeline uses), plain anyio memory object streams
with ``await send()``/``async for`` per item, ``asyncio.Queue`` with ``await put()``/``await get()``, and a
plain Python loop calling the same per-item functions (no plumbing) as the ceiling. Each stage does the
same trivial work (one attribute-free tuple touch), so the figure is the cost of moving an item.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import anyio

from bench.common import Figure

STAGES = 4
HOPS = STAGES - 1
CAPACITY = 1024
_END = None


def _work(item: tuple[int, int]) -> tuple[int, int]:
    return (item[0], item[1] + 1)


async def _fast_channel(n: int) -> int:
    from tradebot.pipeline.channel import Receiver, Sender, channel

    total = 0

    async def source(out: Sender[tuple[int, int] | None]) -> None:
        for i in range(n):
            await out.send((i, 0))
        await out.send(_END)

    async def middle(inp: Receiver[tuple[int, int] | None], out: Sender[tuple[int, int] | None]) -> None:
        async for item in inp:
            if item is None:
                break
            await out.send(_work(item))
        await out.send(_END)

    async def sink(inp: Receiver[tuple[int, int] | None]) -> None:
        nonlocal total
        async for item in inp:
            if item is None:
                break
            total += _work(item)[1]

    links: list[tuple[Sender[tuple[int, int] | None], Receiver[tuple[int, int] | None]]] = [
        channel(CAPACITY) for _ in range(HOPS)
    ]
    async with anyio.create_task_group() as tg:
        tg.start_soon(source, links[0][0])
        tg.start_soon(middle, links[0][1], links[1][0])
        tg.start_soon(middle, links[1][1], links[2][0])
        tg.start_soon(sink, links[2][1])
    return total


async def _anyio_streams(n: int) -> int:
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    Item = tuple[int, int] | None
    total = 0

    async def source(out: MemoryObjectSendStream[Item]) -> None:
        async with out:
            for i in range(n):
                await out.send((i, 0))

    async def middle(inp: MemoryObjectReceiveStream[Item], out: MemoryObjectSendStream[Item]) -> None:
        async with inp, out:
            async for item in inp:
                assert item is not None
                await out.send(_work(item))

    async def sink(inp: MemoryObjectReceiveStream[Item]) -> None:
        nonlocal total
        async with inp:
            async for item in inp:
                assert item is not None
                total += _work(item)[1]

    links = [anyio.create_memory_object_stream[Item](CAPACITY) for _ in range(HOPS)]
    async with anyio.create_task_group() as tg:
        tg.start_soon(source, links[0][0])
        tg.start_soon(middle, links[0][1], links[1][0])
        tg.start_soon(middle, links[1][1], links[2][0])
        tg.start_soon(sink, links[2][1])
    return total


async def _asyncio_queues(n: int) -> int:
    Item = tuple[int, int] | None
    total = 0
    queues: list[asyncio.Queue[Item]] = [asyncio.Queue(CAPACITY) for _ in range(HOPS)]

    async def source(out: asyncio.Queue[Item]) -> None:
        for i in range(n):
            await out.put((i, 0))
        await out.put(_END)

    async def middle(inp: asyncio.Queue[Item], out: asyncio.Queue[Item]) -> None:
        while (item := await inp.get()) is not None:
            await out.put(_work(item))
        await out.put(_END)

    async def sink(inp: asyncio.Queue[Item]) -> None:
        nonlocal total
        while (item := await inp.get()) is not None:
            total += _work(item)[1]

    await asyncio.gather(source(queues[0]), middle(queues[0], queues[1]), middle(queues[1], queues[2]),
                         sink(queues[2]))
    return total


async def _plain_loop(n: int) -> int:
    total = 0
    for i in range(n):
        total += _work(_work(_work((i, 0))))[1]
    return total


VARIANTS: dict[str, Callable[[int], Awaitable[int]]] = {
    "channel_fast_path": _fast_channel,
    "anyio_await_send": _anyio_streams,
    "asyncio_queue": _asyncio_queues,
    "plain_loop": _plain_loop,
}


def run_variant(name: str, n: int) -> tuple[float, int]:
    """Seconds to move ``n`` items through the 4 stages of variant ``name``, and the checksum."""
    fn = VARIANTS[name]

    async def main() -> tuple[float, int]:
        start = time.perf_counter()
        total = await fn(n)
        return time.perf_counter() - start, total

    return anyio.run(main)


def measure(n: int, repeats: int) -> list[Figure]:
    expected = 3 * n  # each item gets +1 at three _work calls
    figures = {name: Figure(f"{name}_items_per_s", "items/s") for name in VARIANTS}
    hop = Figure("channel_hop_us", "µs", better="lower",
                 note="(channel time - plain loop time) / items / hops: what one fast-path hop costs")
    for _ in range(repeats):
        seconds: dict[str, float] = {}
        for name in VARIANTS:
            elapsed, total = run_variant(name, n)
            if total != expected:
                raise AssertionError(f"plumbing variant {name} lost items: checksum {total} != {expected}")
            seconds[name] = elapsed
            figures[name].add(n / elapsed)
        hop.add(max(0.0, seconds["channel_fast_path"] - seconds["plain_loop"]) / n / HOPS * 1e6)
    return [*figures.values(), hop]
