from datetime import timedelta

from risk_testkit import NOW, constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.entry_cooldown_symbol import EntrySymbolCooldownGate
from tradebot.risk.verdict import Outcome

GATE = EntrySymbolCooldownGate(constitution())


def test_three_hundred_second_symbol_cooldown() -> None:
    verdict = GATE.check(intent(), ctx(last_entry_at_symbol=NOW - timedelta(seconds=299)))
    assert (verdict.code, verdict.details["scope"]) == (reasons.BLOCK_COOLDOWN, "symbol")
    assert (
        GATE.check(intent(), ctx(last_entry_at_symbol=NOW - timedelta(seconds=300))).outcome is Outcome.PASS
    )
