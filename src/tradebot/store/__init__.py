"""The append-only SQLite (WAL) event store: one batching writer off the event loop, many readers.

- ``EventWriter.open(path, on_failure=..., run_id=...)`` (async context manager): ``append`` (no await),
  ``append_durable`` (awaits the commit: the OMS write-ahead), ``wait_capacity`` (backpressure point),
  ``flush``; see ``tradebot.store.writer`` for batching, durability and failure rules.
- ``StoreReader(path)``: ``iter_events``, ``last_event``, ``count_by_kind``, ``max_seq``,
  ``integrity_check``, ``write_batch``, ``body_hashes``, ``events_digest``.
- ``encode_body`` / ``decode_body``: canonical orjson bodies (sorted keys, Decimal as string, UTC ISO times).
"""

from tradebot.store.codec import decode_body, encode_body, format_ts, parse_ts
from tradebot.store.errors import (
    StoreDamaged,
    StoreEmpty,
    StoreError,
    StoreLocked,
    StoreUnwritable,
    StoreWriteFailed,
)
from tradebot.store.reader import StoredEvent, StoreReader, WriteBatch
from tradebot.store.writer import EventWriter

__all__ = [
    "EventWriter",
    "StoreDamaged",
    "StoreEmpty",
    "StoreError",
    "StoreLocked",
    "StoreReader",
    "StoreUnwritable",
    "StoreWriteFailed",
    "StoredEvent",
    "WriteBatch",
    "decode_body",
    "encode_body",
    "format_ts",
    "parse_ts",
]
