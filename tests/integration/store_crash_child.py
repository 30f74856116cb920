"""Appends events to an event store until it is killed (driven by test_store_crash.py).

Every body carries the seq the writer will give it, so the test can check that no event is duplicated,
lost from the middle or out of place. Each durable append is reported on stdout once committed.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import anyio

from tradebot.store import EventWriter

T0 = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)


async def main(path: str, run_id: str) -> None:
    async with EventWriter.open(path, run_id=run_id) as w:
        print(f"RESUMED {w.resumed_after}", flush=True)
        i = 0
        while True:
            i += 1
            ts = T0 + timedelta(seconds=i)
            for _ in range(5):
                w.append("tick", {"expect_seq": w.last_seq + 1, "run": run_id, "pad": "x" * 40}, ts=ts,
                         symbol="MES")
            if i % 20 == 0:
                cid = f"{run_id}-{i}"
                seq = await w.append_durable("order_intent", {"expect_seq": w.last_seq + 1, "cid": cid},
                                             ts=ts, symbol="MES", client_order_id=cid)
                print(f"DURABLE {seq} {cid}", flush=True)
            await w.wait_capacity()


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2])
