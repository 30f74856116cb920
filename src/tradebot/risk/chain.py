"""The gate chain: an ordered list of gates, run in turn, fail closed.

A gate is an object with a ``name`` and a pure ``check(intent, ctx) -> Verdict``; its config is bound
when the gate is built. The order of the chain comes from configuration. A gate that raises blocks the
intent with GATE_FAILURE (fail closed); a CLAMP hands the changed intent to the next gate.
Reduce-only intents skip gates whose ``applies_to_exits`` is False: exits are never blocked by entry rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.verdict import Decision, Outcome, Verdict


class Gate(Protocol):
    name: str
    applies_to_exits: bool

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict: ...


class GateChain:
    def __init__(self, gates: Sequence[Gate], config_hash: str) -> None:
        self.gates = tuple(gates)
        self.config_hash = config_hash

    def evaluate(self, intent: OrderIntent, ctx: GateContext) -> Decision:
        current = intent
        verdicts: list[Verdict] = []
        for gate in self.gates:
            if current.reduce_only and not gate.applies_to_exits:
                continue
            try:
                verdict = gate.check(current, ctx)
            except Exception as exc:  # noqa: BLE001 - fail closed: a broken gate blocks, it never passes
                verdict = Verdict.blocked(
                    gate.name, reasons.GATE_FAILURE, error=f"{type(exc).__name__}: {exc}"
                )
            verdicts.append(verdict)
            if verdict.outcome is Outcome.BLOCK:
                return Decision(intent, tuple(verdicts), None, self.config_hash)
            if verdict.outcome is Outcome.CLAMP and verdict.intent is not None:
                current = verdict.intent
        return Decision(intent, tuple(verdicts), current, self.config_hash)
