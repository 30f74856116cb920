"""Cancel-all: at most N per minute, CANCEL_ALL_TRIGGERED / CANCEL_ALL_THROTTLED, failures classified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tradebot.domain.errors import ErrorClass
from tradebot.ops.cancel_all import CancelAllPolicy, run_cancel_all

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_at_most_n_per_minute() -> None:
    policy = CancelAllPolicy(max_per_minute=2)
    assert policy.request(at(0), "kill").code == "CANCEL_ALL_TRIGGERED"
    assert policy.request(at(10), "kill").allowed
    throttled = policy.request(at(20), "kill")
    assert not throttled.allowed and throttled.code == "CANCEL_ALL_THROTTLED"
    assert throttled.next_allowed_at == at(60)
    assert policy.request(at(60), "kill").allowed  # the first trigger left the window
    assert not policy.request(at(65), "kill").allowed


def test_policy_validates() -> None:
    with pytest.raises(ValueError, match="max_per_minute"):
        CancelAllPolicy(max_per_minute=0)


class _Venue:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[str | None] = []
        self.fail = fail

    async def cancel_all(self, symbol: str | None = None) -> None:
        self.calls.append(symbol)
        if self.fail:
            raise ConnectionResetError("reset")

    def classify_error(self, exc: BaseException) -> ErrorClass | None:
        return None


async def test_run_cancel_all_calls_the_venue_only_when_allowed() -> None:
    venue = _Venue()
    policy = CancelAllPolicy(max_per_minute=1)
    first = await run_cancel_all(venue, policy, at(0), "kill switch", "MES")
    second = await run_cancel_all(venue, policy, at(1), "kill switch")
    assert first.sent and not second.sent and second.decision.code == "CANCEL_ALL_THROTTLED"
    assert venue.calls == ["MES"]


async def test_run_cancel_all_failure_is_classified_not_raised() -> None:
    result = await run_cancel_all(_Venue(fail=True), CancelAllPolicy(), at(0), "recon mismatch")
    assert not result.sent and result.error is not None and result.error.code == "NET_RETRY"
