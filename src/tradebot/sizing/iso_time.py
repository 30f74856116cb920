"""Formatting the timestamps of every bar, without ``isoformat``/``strftime`` cost on each call.

``isoformat`` of an aware datetime asks its tzinfo for the offset and formats it (~0.4-0.9 us), and
``format(ts, "%Y%m%dT%H%M%S")`` goes through ``strftime`` (~1-2 us). Bars come in order, so consecutive
timestamps share their day: each formatter keeps the day's text from the previous call and takes the time
of day from small tables. The text is exactly what the standard call returns; a timestamp a formatter does
not cover (another zone, microseconds, a year before 1000, a datetime subclass) goes to that call itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

_HOUR_MINUTE_ISO: Final = tuple(f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_SECOND_UTC: Final = tuple(f"{s:02d}+00:00" for s in range(60))
_HOUR_MINUTE: Final = tuple(f"{h:02d}{m:02d}" for h in range(24) for m in range(60))
_SECOND: Final = tuple(f"{s:02d}" for s in range(60))
COMPACT: Final = "%Y%m%dT%H%M%S"


class UtcIsoFormatter:
    """``ts.isoformat()``."""

    __slots__ = ("_day",)

    def __init__(self) -> None:
        self._day: tuple[int, str] = (-1, "")  # (ordinal, "YYYY-MM-DDT"), replaced as one object

    def __call__(self, ts: datetime) -> str:
        if type(ts) is not datetime or ts.tzinfo is not UTC or ts.microsecond:
            return ts.isoformat()
        ordinal = ts.toordinal()
        day = self._day
        if day[0] != ordinal:
            day = self._day = (ordinal, ts.date().isoformat() + "T")
        return day[1] + _HOUR_MINUTE_ISO[ts.hour * 60 + ts.minute] + _SECOND_UTC[ts.second]


class CompactFormatter:
    """``format(ts, "%Y%m%dT%H%M%S")`` (the zone is not part of the text; only UTC or naive are covered,
    as ``strftime`` asks any other tzinfo for its ``dst()``)."""

    __slots__ = ("_day",)

    def __init__(self) -> None:
        self._day: tuple[int, str] = (-1, "")  # (ordinal, "YYYYMMDDT")

    def __call__(self, ts: datetime) -> str:
        zone = ts.tzinfo
        # strftime's %Y of a year before 1000 is platform-specific
        if type(ts) is not datetime or (zone is not UTC and zone is not None) or ts.year < 1000:
            return format(ts, COMPACT)
        ordinal = ts.toordinal()
        day = self._day
        if day[0] != ordinal:
            day = self._day = (ordinal, f"{ts.year:04d}{ts.month:02d}{ts.day:02d}T")
        return day[1] + _HOUR_MINUTE[ts.hour * 60 + ts.minute] + _SECOND[ts.second]
