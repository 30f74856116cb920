"""Store failures. A write failure halts trading: nothing may trade on without a record."""

from __future__ import annotations

from tradebot.domain import reasons


class StoreError(Exception):
    """The store file cannot be used (not a store, unknown schema, locked by another writer)."""


class StoreWriteFailed(StoreError):
    """The writer could not commit; it accepts nothing more. Carries the STORE_WRITE_FAILED reason code."""

    code = reasons.STORE_WRITE_FAILED


class StoreLocked(StoreError):
    """Another writer (in this process or another) holds the store."""
