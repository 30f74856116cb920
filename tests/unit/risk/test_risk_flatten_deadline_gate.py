from datetime import UTC, datetime

from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.domain.calendars import shared_calendars
from tradebot.risk.flatten_deadline_gate import FlattenDeadlineGate
from tradebot.risk.verdict import Outcome

GATE = FlattenDeadlineGate(constitution(), shared_calendars())


def _check(*args: int):  # type: ignore[no-untyped-def]
    return GATE.check(intent(), ctx(now=datetime(*args, tzinfo=UTC)))


def test_deadline_is_1555_new_york_across_dst() -> None:
    # before the 2024-03-10 switch: EST, 15:55 = 20:55 UTC
    assert _check(2024, 3, 8, 20, 54).outcome is Outcome.PASS
    assert _check(2024, 3, 8, 20, 55).code == reasons.FLATTEN_DEADLINE_BLOCK
    # after it: EDT, 15:55 = 19:55 UTC
    assert _check(2024, 3, 11, 19, 54).outcome is Outcome.PASS
    assert _check(2024, 3, 11, 19, 55).code == reasons.FLATTEN_DEADLINE_BLOCK
    # around the 2024-11-03 switch back
    assert _check(2024, 11, 1, 19, 55).code == reasons.FLATTEN_DEADLINE_BLOCK
    assert _check(2024, 11, 4, 19, 55).outcome is Outcome.PASS
    assert _check(2024, 11, 4, 20, 55).code == reasons.FLATTEN_DEADLINE_BLOCK


def test_early_close_moves_the_deadline() -> None:
    # 2024-11-29: CME closes 12:00 Chicago (18:00 UTC): deadline 17:55 UTC, not 20:55
    assert _check(2024, 11, 29, 17, 54).outcome is Outcome.PASS
    verdict = _check(2024, 11, 29, 17, 55)
    assert verdict.code == reasons.FLATTEN_DEADLINE_BLOCK
    assert verdict.details["deadline"] == "2024-11-29T17:55:00+00:00"
