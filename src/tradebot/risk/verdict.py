"""What a gate says about an intent, and the record of every gate's say."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from tradebot.domain.orders import OrderIntent


class Outcome(StrEnum):
    PASS = "PASS"
    CLAMP = "CLAMP"  # passed, with the intent changed (smaller size, lower leverage)
    BLOCK = "BLOCK"


@dataclass(frozen=True, slots=True)
class Verdict:
    gate: str
    outcome: Outcome
    code: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    intent: OrderIntent | None = None  # the changed intent when outcome is CLAMP

    @staticmethod
    def passed(gate: str, **details: Any) -> Verdict:
        return _verdict(gate, Outcome.PASS, None, details, None)

    @staticmethod
    def blocked(gate: str, code: str, **details: Any) -> Verdict:
        return _verdict(gate, Outcome.BLOCK, code, details, None)

    @staticmethod
    def clamped(gate: str, code: str, intent: OrderIntent, **details: Any) -> Verdict:
        return _verdict(gate, Outcome.CLAMP, code, details, intent)


# Every gate makes a Verdict per intent: set the slots directly (what the frozen __init__ does, without its
# per-field object.__setattr__ lookups). The result is the same frozen value.
_new = object.__new__
_FIELDS = ("gate", "outcome", "code", "details", "intent")
if tuple(f.name for f in fields(Verdict)) != _FIELDS:  # a new field must be set by _verdict too
    raise TypeError(f"Verdict fields changed: update _verdict ({_FIELDS})")
_set_gate, _set_outcome, _set_code, _set_details, _set_intent = (
    vars(Verdict)[name].__set__ for name in _FIELDS
)


def _verdict(
    gate: str, outcome: Outcome, code: str | None, details: Mapping[str, Any], intent: OrderIntent | None
) -> Verdict:
    verdict: Verdict = _new(Verdict)
    _set_gate(verdict, gate)
    _set_outcome(verdict, outcome)
    _set_code(verdict, code)
    _set_details(verdict, details)
    _set_intent(verdict, intent)
    return verdict


@dataclass(frozen=True, slots=True)
class Decision:
    """Every gate's verdict on one intent, in chain order, and the intent that came out the end.

    ``approved`` is None when a gate blocked. ``config_hash`` identifies the config and constitution
    snapshot that produced the decision, so the decision can be reproduced.
    """

    intent: OrderIntent
    verdicts: tuple[Verdict, ...]
    approved: OrderIntent | None
    config_hash: str

    @property
    def blocked_by(self) -> Verdict | None:
        for verdict in self.verdicts:
            if verdict.outcome is Outcome.BLOCK:
                return verdict
        return None


_DECISION_FIELDS = ("intent", "verdicts", "approved", "config_hash")
if tuple(f.name for f in fields(Decision)) != _DECISION_FIELDS:  # a new field must be set by new_decision too
    raise TypeError(f"Decision fields changed: update new_decision ({_DECISION_FIELDS})")
_set_decision_intent, _set_verdicts, _set_approved, _set_config_hash = (
    vars(Decision)[name].__set__ for name in _DECISION_FIELDS
)


def new_decision(
    intent: OrderIntent, verdicts: tuple[Verdict, ...], approved: OrderIntent | None, config_hash: str
) -> Decision:
    """``Decision(intent, verdicts, approved, config_hash)``, made by setting its slots directly (the chain
    makes one per intent): the same frozen value as the constructor's."""
    decision: Decision = _new(Decision)
    _set_decision_intent(decision, intent)
    _set_verdicts(decision, verdicts)
    _set_approved(decision, approved)
    _set_config_hash(decision, config_hash)
    return decision
