"""Bounded memory of what a long run has already seen.

A run of a million bars makes tens of thousands of orders and fills; state kept per order for the whole run
grows without bound. What must be remembered of a finished order or a fill is only what a late or repeated
message could still ask about, and such messages concern recent orders (a reconnect re-sends the fills since
the last one seen, a restart re-reads the last bar's events). ``RETAINED`` finished orders and fills are
kept; older ones are forgotten, oldest first. The numbers are far above any re-delivery window (a restart
replays one bar; a reconnect a few seconds) and small enough that memory stays flat.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

RETAINED = 4096  # finished orders (venue, ledger) and fill ids (portfolio, risk tracker) kept per run

K = TypeVar("K", bound=Hashable)


class RecentIds(Generic[K]):
    """A set that keeps the ``limit`` (default ``RETAINED``) most recently added keys, first in first out."""

    __slots__ = ("_keys", "limit")

    def __init__(self, limit: int | None = None) -> None:
        limit = RETAINED if limit is None else limit
        if limit <= 0:
            raise ValueError("a RecentIds limit must be positive")
        self.limit = limit
        self._keys: dict[K, None] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: K) -> bool:
        """Remember ``key``; False when it was already remembered."""
        keys = self._keys
        if key in keys:
            return False
        keys[key] = None
        if len(keys) > self.limit:
            del keys[next(iter(keys))]
        return True
