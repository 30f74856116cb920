"""Fast-path channels keep order, apply backpressure and never drop an item."""

import anyio

from tradebot.pipeline.channel import channel


async def test_order_and_backpressure_without_loss() -> None:
    sender, receiver = channel(capacity=4)
    received: list[int] = []

    async def produce() -> None:
        for i in range(1000):
            await sender.send(i)
        await sender.aclose()

    async def consume() -> None:
        async for item in receiver:
            received.append(item)
            if item % 97 == 0:
                await anyio.sleep(0)

    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        tg.start_soon(consume)
    assert received == list(range(1000))
