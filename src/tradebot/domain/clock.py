"""Clocks. Nothing inside the pipeline reads the wall clock; it is handed one of these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class WallClock:
    """The real clock, for live and observe runs on live data."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ReplayClock:
    """A clock that only moves when told to: replay advances it to each bar's close."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ReplayClock needs a timezone-aware start time")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance_to(self, ts: datetime) -> None:
        if ts < self._now:
            raise ValueError(f"ReplayClock cannot go back from {self._now.isoformat()} to {ts.isoformat()}")
        self._now = ts
