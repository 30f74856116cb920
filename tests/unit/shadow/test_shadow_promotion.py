"""The promotion rule: never proposed under 30 samples on either side or under 5 % better; the floors cannot
be lowered (Hypothesis over arbitrary post-cost returns)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradebot.shadow.promotion import compare

bps = st.decimals(min_value=-50, max_value=50, places=2, allow_nan=False, allow_infinity=False)


@given(shadow=st.lists(bps, max_size=80), live=st.lists(bps, max_size=80))
def test_never_proposed_without_the_samples_and_the_margin(
    shadow: list[Decimal], live: list[Decimal]
) -> None:
    result = compare("s", shadow, live)
    if result.proposed:
        assert len(shadow) >= 30 and len(live) >= 30
        assert result.mean_bps is not None and result.live_mean_bps is not None
        assert result.mean_bps > result.live_mean_bps
        margin = abs(result.live_mean_bps) * Decimal("0.05")
        assert result.mean_bps - result.live_mean_bps >= margin - Decimal("0.0001")


def test_the_rule_at_its_edges() -> None:
    live = [Decimal(-2)] * 30
    assert compare("s", [Decimal("-1.9")] * 30, live).proposed  # 5 % better
    assert not compare("s", [Decimal("-1.91")] * 30, live).proposed  # 4.5 %
    assert not compare("s", [Decimal(5)] * 29, live).proposed  # too few of its own
    assert not compare("s", [Decimal(5)] * 30, live[:29]).proposed  # too few of the live set's
    zero = compare("s", [Decimal("0.1")] * 30, [Decimal(0)] * 30)
    assert zero.proposed and zero.outperformance == Decimal("Infinity")
    losing = compare("s", [Decimal(-1)] * 30, live)
    assert losing.proposed and "still loses after costs" in losing.why


def test_the_floors_cannot_be_lowered() -> None:
    with pytest.raises(ValueError, match="at least 30 samples"):
        compare("s", [], [], min_samples=29)
    with pytest.raises(ValueError, match="at least 30 samples"):
        compare("s", [], [], min_outperformance=Decimal("0.04"))
