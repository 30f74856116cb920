"""What an operator's kill / resume / status does to a running pipeline (through ops.control).

A kill moves the trading state to HALTED at once (held until an operator resumes; persisted, so a
restart comes back halted); with ``cancel_all`` it cancels every open order (rate-limited,
CANCEL_ALL_TRIGGERED); with ``flatten`` the next bar flattens positions with reduce-only orders, the one
kind of order a halt lets through.
"""

from __future__ import annotations

from typing import Any

from tradebot.brokers.protocol import Broker
from tradebot.domain import reasons
from tradebot.ops.cancel_all import CancelAllPolicy, run_cancel_all
from tradebot.ops.control import ControlHandlers, KillCommand, ResumeCommand
from tradebot.pipeline.engine import DecisionEngine


class OperatorControl:
    def __init__(self, engine: DecisionEngine, broker: Broker, policy: CancelAllPolicy) -> None:
        self.engine = engine
        self.broker = broker
        self.policy = policy

    def handlers(self) -> ControlHandlers:
        return ControlHandlers(kill=self.kill, resume=self.resume, status=self.status)

    async def kill(self, command: KillCommand) -> dict[str, Any]:
        engine = self.engine
        now = engine.clock.now()
        engine.operator_halt(reasons.KILL_SWITCH, reason=command.reason, source=command.source)
        result: dict[str, Any] = {"state": engine.machine.state.value, "reason": command.reason}
        if command.cancel_all:
            outcome = await run_cancel_all(self.broker, self.policy, now, command.reason)
            body = {
                "code": outcome.decision.code,
                "sent": outcome.sent,
                "reason": command.reason,
                "error": outcome.error.code if outcome.error else None,
            }
            engine.recorder.record("cancel_all", body, ts=now)
            result["cancel_all"] = body
        if command.flatten:
            engine.flatten_requested = True
            result["flatten"] = "at the next bar"
        return result

    async def resume(self, command: ResumeCommand) -> dict[str, Any]:
        self.engine.operator_resume(reason=command.reason, source=command.source)
        return {"state": self.engine.machine.state.value}

    async def status(self) -> dict[str, Any]:
        engine = self.engine
        return {
            "state": engine.machine.state.value,
            "reason": engine.machine.reason,
            "bars": engine.stats.bars,
            "orders": engine.stats.orders,
            "positions": {s: str(p.quantity) for s, p in engine.portfolio.positions.items()},
            "last_bar": engine.stats.last_bar,
        }
