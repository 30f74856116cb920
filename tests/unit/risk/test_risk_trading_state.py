from datetime import UTC, date, datetime
from decimal import Decimal

from risk_testkit import constitution

from tradebot.domain import reasons
from tradebot.domain.state import TradingState
from tradebot.risk.tracker import DailyStatus
from tradebot.risk.trading_state import Hold, TradingStateMachine

LIMITS = constitution().rules_for("MES").limits
NOW = datetime(2024, 3, 12, 15, 0, tzinfo=UTC)
DAY = date(2024, 3, 12)


def _status(pnl: str = "0", losses: int = 0, position: str = "0", day: date = DAY) -> DailyStatus:
    return DailyStatus("MES", day, Decimal(pnl), Decimal(pnl), 0, losses, Decimal(position))


def test_daily_loss_cap_reduces_then_halts_for_the_day() -> None:
    machine = TradingStateMachine()
    moved = machine.on_status(NOW, _status("-31", position="1"), LIMITS)
    assert [(t.to_state, t.code) for t in moved] == [(TradingState.REDUCING, reasons.DAILY_LOSS_CAP_BLOCK)]
    moved = machine.on_status(NOW, _status("-20", position="0"), LIMITS)  # flat, even if PnL recovered
    assert machine.state is TradingState.HALTED and moved[0].code == reasons.DAILY_LOSS_CAP_BLOCK
    assert machine.on_status(NOW, _status("0", day=DAY), LIMITS) == []
    moved = machine.on_status(NOW, _status("0", day=date(2024, 3, 13)), LIMITS)
    assert machine.state is TradingState.ACTIVE and moved[0].code == reasons.TRADING_RESUMED


def test_consecutive_losses_halt_until_next_session() -> None:
    machine = TradingStateMachine()
    machine.on_status(NOW, _status(losses=2), LIMITS)
    assert (machine.state, machine.reason, machine.hold) == (
        TradingState.HALTED,
        reasons.CONSECUTIVE_LOSSES_BLOCK,
        Hold.SESSION,
    )


def test_operator_halt_survives_restart_and_new_sessions() -> None:
    machine = TradingStateMachine()
    machine.operator_halt(NOW)
    restored = TradingStateMachine.restore(machine.to_dict())
    assert (restored.state, restored.reason, restored.hold) == (
        TradingState.HALTED,
        reasons.KILL_SWITCH,
        Hold.OPERATOR,
    )
    restored.on_status(NOW, _status(day=date(2024, 3, 20)), LIMITS)
    assert restored.state is TradingState.HALTED
    assert restored.operator_reduce(NOW) is None  # a reduce does not soften an operator halt
    assert restored.operator_resume(NOW) is not None and restored.state is TradingState.ACTIVE


def test_fail_closed_never_loosens_and_restore_checks_input() -> None:
    machine = TradingStateMachine()
    machine.fail(NOW, reasons.INTERNAL_ERROR)
    assert machine.fail(NOW, "X", TradingState.REDUCING) is None and machine.state is TradingState.HALTED
    assert TradingStateMachine.restore(None).state is TradingState.ACTIVE
    try:
        TradingStateMachine.restore({"state": "SLEEPING"})
    except ValueError as exc:
        assert "SLEEPING" in str(exc)
    else:
        raise AssertionError("bad state restored")
