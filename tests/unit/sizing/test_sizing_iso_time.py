"""The fast formatters write exactly what ``isoformat()`` and ``format(ts, "%Y%m%dT%H%M%S")`` write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from tradebot.sizing.intent_builder import intent_id
from tradebot.sizing.iso_time import CompactFormatter, UtcIsoFormatter

ZONES = st.sampled_from([UTC, None, timezone(timedelta(hours=-4)), timezone(timedelta(0), "UTC")])


@given(st.lists(st.tuples(st.datetimes(), ZONES), min_size=1, max_size=20))
def test_equals_isoformat(stamps: list[tuple[datetime, timezone | None]]) -> None:
    formatter = UtcIsoFormatter()
    for naive, zone in stamps:
        ts = naive.replace(tzinfo=zone)
        assert formatter(ts) == ts.isoformat()
        assert formatter(ts.replace(microsecond=0)) == ts.replace(microsecond=0).isoformat()


@given(st.lists(st.tuples(st.datetimes(), ZONES), min_size=1, max_size=20))
def test_compact_equals_strftime(stamps: list[tuple[datetime, timezone | None]]) -> None:
    formatter = CompactFormatter()
    for naive, zone in stamps:
        ts = naive.replace(tzinfo=zone)
        assert formatter(ts) == format(ts, "%Y%m%dT%H%M%S")


def test_a_day_of_minute_bars_and_the_next_day() -> None:
    iso, compact = UtcIsoFormatter(), CompactFormatter()
    start = datetime(1999, 12, 31, 0, 0, 59, tzinfo=UTC)
    for i in range(0, 2 * 24 * 60 + 5, 7):
        ts = start + timedelta(minutes=i)
        assert iso(ts) == ts.isoformat()
        assert compact(ts) == format(ts, "%Y%m%dT%H%M%S")
        assert intent_id("MES", ts, 2) == f"MES-{ts:%Y%m%dT%H%M%S}-2"


class Stamp(datetime):
    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        return "subclass:" + super().isoformat(sep, timespec)


def test_a_datetime_subclass_keeps_its_own_isoformat() -> None:
    ts = Stamp(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert UtcIsoFormatter()(ts) == ts.isoformat()
    assert CompactFormatter()(ts) == format(ts, "%Y%m%dT%H%M%S")
