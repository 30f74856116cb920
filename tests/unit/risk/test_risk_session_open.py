from datetime import UTC, datetime

from risk_testkit import BTC, constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.domain.calendars import shared_calendars
from tradebot.risk.session_open import SessionOpenGate
from tradebot.risk.verdict import Outcome

GATE = SessionOpenGate(constitution(), shared_calendars())


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_rth_passes() -> None:
    assert GATE.check(intent(), ctx()).outcome is Outcome.PASS


def test_cme_holiday_blocks() -> None:  # Christmas 2024: no CME session
    verdict = GATE.check(intent(), ctx(now=_at(2024, 12, 25, 15, 0)))
    assert (verdict.outcome, verdict.code) == (Outcome.BLOCK, reasons.MARKET_CLOSED_BLOCK)


def test_after_an_early_close_blocks() -> None:  # 2024-11-29 CME closes 12:00 Chicago = 18:00 UTC
    assert GATE.check(intent(), ctx(now=_at(2024, 11, 29, 17, 30))).outcome is Outcome.PASS
    assert GATE.check(intent(), ctx(now=_at(2024, 11, 29, 18, 30))).code == reasons.MARKET_CLOSED_BLOCK


def test_overnight_globex_is_outside_mes_trading_hours() -> None:
    verdict = GATE.check(intent(), ctx(now=_at(2024, 3, 12, 3, 0)))  # 23:00 ET: Globex open, not RTH
    assert verdict.code == reasons.MARKET_CLOSED_BLOCK
    assert verdict.details["window"] == "rth"


def test_crypto_is_always_open() -> None:
    btc = intent(symbol="BTCUSDT", intent_id="BTCUSDT-1")
    assert GATE.check(btc, ctx(instrument=BTC, now=_at(2024, 12, 25, 3, 0))).outcome is Outcome.PASS
