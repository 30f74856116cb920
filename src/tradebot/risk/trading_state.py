"""The trading state machine: ACTIVE -> REDUCING -> HALTED, each move with the reason code that made it.

Automatic moves (``on_status``, called by the pipeline with a symbol's DailyStatus, e.g. each bar):
- daily loss cap reached with a position open -> REDUCING (exits only); once flat -> HALTED for the day;
- consecutive losses reach the maximum -> HALTED until the next session;
- a new session day of the symbol that set an automatic hold -> ACTIVE (TRADING_RESUMED).
Operator moves (``operator_halt`` / ``operator_reduce`` / ``operator_resume``) and fail-closed halts
(``fail``) hold until an operator resumes: no restart or new session lifts them. ``to_dict`` /
``restore`` give the persisted form (the lead stores every Transition and the latest dict).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from tradebot.domain import reasons
from tradebot.domain.state import TradingState
from tradebot.risk.rules import LimitsRules
from tradebot.risk.tracker import DailyStatus


class Hold(StrEnum):
    NONE = "NONE"  # ACTIVE, or nothing holds the state
    SESSION = "SESSION"  # automatic: lifted when the symbol's session day changes
    OPERATOR = "OPERATOR"  # lifted only by an operator


_RANK = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


@dataclass(frozen=True, slots=True)
class Transition:
    from_state: TradingState
    to_state: TradingState
    code: str
    ts: datetime
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.from_state.value,
            "to": self.to_state.value,
            "code": self.code,
            "ts": self.ts.isoformat(),
            "details": dict(self.details),
        }


class TradingStateMachine:
    def __init__(self) -> None:
        self.state = TradingState.ACTIVE
        self.reason = ""
        self.since: datetime | None = None
        self.hold = Hold.NONE
        self.hold_symbol: str | None = None
        self.hold_day: date | None = None
        # the last ``on_status`` that moved nothing: its status and limits (the same frozen objects) and the
        # state it saw. The same call on the same state moves nothing again (nothing else is read).
        self._quiet: tuple[DailyStatus, LimitsRules, TradingState, str, Hold, str | None, date | None] | None
        self._quiet = None

    # --- moves --------------------------------------------------------------------------------------
    def _move(
        self,
        to: TradingState,
        code: str,
        now: datetime,
        hold: Hold,
        hold_symbol: str | None = None,
        hold_day: date | None = None,
        **details: Any,
    ) -> Transition | None:
        if to is self.state and code == self.reason and hold is self.hold:
            return None
        transition = Transition(self.state, to, code, now, details)
        self.state, self.reason, self.since = to, code, now
        self.hold, self.hold_symbol, self.hold_day = hold, hold_symbol, hold_day
        return transition

    def operator_halt(
        self, now: datetime, code: str = reasons.KILL_SWITCH, **details: Any
    ) -> Transition | None:
        return self._move(TradingState.HALTED, code, now, Hold.OPERATOR, **details)

    def operator_reduce(
        self, now: datetime, code: str = reasons.OPERATOR_REDUCE, **details: Any
    ) -> Transition | None:
        if self.state is TradingState.HALTED and self.hold is Hold.OPERATOR:
            return None  # an operator halt is not softened by a reduce
        return self._move(TradingState.REDUCING, code, now, Hold.OPERATOR, **details)

    def operator_resume(self, now: datetime, **details: Any) -> Transition | None:
        if self.state is TradingState.ACTIVE:
            return None
        return self._move(
            TradingState.ACTIVE, reasons.TRADING_RESUMED, now, Hold.NONE, by="operator", **details
        )

    def fail(
        self, now: datetime, code: str, state: TradingState = TradingState.HALTED, **details: Any
    ) -> Transition | None:
        """Fail closed after an unexpected error: held until an operator resumes. Never loosens."""
        if _RANK[state] < _RANK[self.state]:
            return None
        return self._move(state, code, now, Hold.OPERATOR, **details)

    def on_status(self, now: datetime, status: DailyStatus, limits: LimitsRules) -> list[Transition]:
        """Automatic moves for one symbol's day; returns the transitions made (to record)."""
        quiet = self._quiet
        if (
            quiet is not None
            and quiet[0] is status
            and quiet[1] is limits
            and quiet[2] is self.state
            and quiet[3] == self.reason
            and quiet[4] is self.hold
            and quiet[5] == self.hold_symbol
            and quiet[6] == self.hold_day
        ):
            return []
        moved = self._on_status(now, status, limits)
        if not moved:
            self._quiet = (
                status,
                limits,
                self.state,
                self.reason,
                self.hold,
                self.hold_symbol,
                self.hold_day,
            )
        return moved

    def _on_status(self, now: datetime, status: DailyStatus, limits: LimitsRules) -> list[Transition]:
        moved: list[Transition] = []
        if (
            self.hold is Hold.SESSION
            and self.hold_symbol == status.symbol
            and self.hold_day is not None
            and status.session_day > self.hold_day
        ):
            t = self._move(
                TradingState.ACTIVE,
                reasons.TRADING_RESUMED,
                now,
                Hold.NONE,
                by="new_session",
                session_day=status.session_day.isoformat(),
            )
            if t is not None:
                moved.append(t)
        if self.hold is Hold.OPERATOR:
            return moved
        cap = limits.daily_loss_cap_usd
        losses = limits.max_consecutive_losses
        target: tuple[TradingState, str, dict[str, Any]] | None = None
        if losses is not None and status.consecutive_losses >= losses:
            target = (
                TradingState.HALTED,
                reasons.CONSECUTIVE_LOSSES_BLOCK,
                {"consecutive_losses": status.consecutive_losses, "max": losses},
            )
        elif cap is not None and status.pnl_today <= -cap:
            state = TradingState.HALTED if status.flat else TradingState.REDUCING
            target = (
                state,
                reasons.DAILY_LOSS_CAP_BLOCK,
                {"pnl_today": str(status.pnl_today), "cap": str(cap)},
            )
        elif (
            self.state is TradingState.REDUCING
            and self.reason == reasons.DAILY_LOSS_CAP_BLOCK
            and self.hold_symbol == status.symbol
            and status.flat
        ):
            # the loss was reached, then exits brought PnL back over -cap: still done for the day
            target = (TradingState.HALTED, reasons.DAILY_LOSS_CAP_BLOCK, {"pnl_today": str(status.pnl_today)})
        if target is not None and _RANK[target[0]] >= _RANK[self.state]:
            state, code, details = target
            t = self._move(
                state,
                code,
                now,
                Hold.SESSION,
                status.symbol,
                status.session_day,
                symbol=status.symbol,
                session_day=status.session_day.isoformat(),
                **details,
            )
            if t is not None:
                moved.append(t)
        return moved

    # --- persistence --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "reason": self.reason,
            "since": self.since.isoformat() if self.since else None,
            "hold": self.hold.value,
            "hold_symbol": self.hold_symbol,
            "hold_day": self.hold_day.isoformat() if self.hold_day else None,
        }

    @classmethod
    def restore(cls, data: Mapping[str, Any] | None) -> TradingStateMachine:
        """Rebuild from ``to_dict`` output (None: a fresh ACTIVE machine). Bad data raises ValueError."""
        machine = cls()
        if not data:
            return machine
        try:
            machine.state = TradingState(data["state"])
            machine.reason = str(data.get("reason") or "")
            since = data.get("since")
            machine.since = datetime.fromisoformat(since) if since else None
            machine.hold = Hold(data.get("hold") or Hold.NONE.value)
            machine.hold_symbol = data.get("hold_symbol")
            hold_day = data.get("hold_day")
            machine.hold_day = date.fromisoformat(hold_day) if hold_day else None
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"trading state: cannot restore from {dict(data)!r}: {exc}") from exc
        return machine
