from datetime import timedelta

from risk_testkit import NOW, constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.entry_cooldown_global import EntryGlobalCooldownGate
from tradebot.risk.verdict import Outcome

GATE = EntryGlobalCooldownGate(constitution())


def test_sixty_second_global_cooldown() -> None:
    assert GATE.check(intent(), ctx()).outcome is Outcome.PASS
    verdict = GATE.check(intent(), ctx(last_entry_at=NOW - timedelta(seconds=59)))
    assert (verdict.code, verdict.details["scope"]) == (reasons.BLOCK_COOLDOWN, "global")
    assert GATE.check(intent(), ctx(last_entry_at=NOW - timedelta(seconds=60))).outcome is Outcome.PASS
