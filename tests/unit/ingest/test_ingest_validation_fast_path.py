"""``bar_fault``'s fast path gives the verdict of the full check sequence for any values at all."""

from __future__ import annotations

from datetime import UTC, datetime
from math import isfinite

from hypothesis import given
from hypothesis import strategies as st

from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.ingest import bar_fault

TS = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)


def reference_fault(o: float, h: float, low: float, c: float, v: float) -> str | None:
    """The documented order of checks, one by one."""
    if not all(isfinite(x) for x in (o, h, low, c, v)):
        return reasons.BAR_NAN
    if o <= 0 or h <= 0 or low <= 0 or c <= 0:
        return reasons.BAR_NON_POSITIVE_PRICE
    if h < low:
        return reasons.BAR_HIGH_BELOW_LOW
    if not (low <= o <= h and low <= c <= h):
        return reasons.BAR_OHLC_INCONSISTENT
    if v < 0:
        return reasons.BAR_NEGATIVE_VOLUME
    return None


# small pools make ties, zeros, signs and non-finite values common; huge values overflow the sum
VALUES = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, 2.0, 3.0, -1.0, 1e308, -1e308]),
    st.sampled_from([float("inf"), float("-inf"), float("nan")]),
    st.floats(allow_nan=True, allow_infinity=True),
)


@given(VALUES, VALUES, VALUES, VALUES, VALUES)
def test_fast_path_agrees_with_the_reference(o: float, h: float, low: float, c: float, v: float) -> None:
    assert bar_fault(Bar("X", TS, o, h, low, c, v)) == reference_fault(o, h, low, c, v)


def test_huge_but_finite_bar_is_good() -> None:
    # the fast path's sum overflows to infinity; the full checks must still accept it
    assert bar_fault(Bar("X", TS, 1e308, 1e308, 1e308, 1e308, 1e308)) is None
