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
from tradebot.risk.verdict import Decision, Outcome, Verdict, new_decision


class Gate(Protocol):
    name: str
    applies_to_exits: bool

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict: ...


class GateChain:
    def __init__(self, gates: Sequence[Gate], config_hash: str) -> None:
        self.gates = tuple(gates)
        self.config_hash = config_hash
        # (name, bound check, position) per gate, once: every gate for entries, the exit ones for exits
        self._entry_checks = tuple((gate.name, gate.check, i) for i, gate in enumerate(self.gates))
        self._exit_checks = tuple(
            check for check in self._entry_checks if self.gates[check[2]].applies_to_exits
        )

    def evaluate(self, intent: OrderIntent, ctx: GateContext) -> Decision:
        current = intent
        verdicts: list[Verdict] = []
        append = verdicts.append
        block, clamp = Outcome.BLOCK, Outcome.CLAMP
        # a clamp never turns an entry into an exit or back (``reduce_only`` is kept by every clamp), so the
        # gates that apply are known from the intent as it came in; checked again after each clamp anyway
        checks = self._exit_checks if intent.reduce_only else self._entry_checks
        for name, check, position in checks:
            try:
                verdict = check(current, ctx)
            except Exception as exc:  # noqa: BLE001 - fail closed: a broken gate blocks, it never passes
                verdict = Verdict.blocked(name, reasons.GATE_FAILURE, error=f"{type(exc).__name__}: {exc}")
            append(verdict)
            outcome = verdict.outcome
            if outcome is block:
                return new_decision(intent, tuple(verdicts), None, self.config_hash)
            if outcome is clamp and verdict.intent is not None:
                if bool(verdict.intent.reduce_only) != bool(current.reduce_only):
                    return self._evaluate_from(intent, verdicts, verdict.intent, ctx, position + 1)
                current = verdict.intent
        return new_decision(intent, tuple(verdicts), current, self.config_hash)

    def _evaluate_from(
        self,
        intent: OrderIntent,
        verdicts: list[Verdict],
        current: OrderIntent,
        ctx: GateContext,
        start: int,
    ) -> Decision:
        """The chain from gate ``start`` on, after a clamp turned the intent into the other kind (entry or
        exit): which gates apply is read per gate again."""
        for gate in self.gates[start:]:
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
                return new_decision(intent, tuple(verdicts), None, self.config_hash)
            if verdict.outcome is Outcome.CLAMP and verdict.intent is not None:
                current = verdict.intent
        return new_decision(intent, tuple(verdicts), current, self.config_hash)
