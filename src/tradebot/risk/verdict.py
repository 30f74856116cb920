"""What a gate says about an intent, and the record of every gate's say."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
        return Verdict(gate, Outcome.PASS, None, details)

    @staticmethod
    def blocked(gate: str, code: str, **details: Any) -> Verdict:
        return Verdict(gate, Outcome.BLOCK, code, details)

    @staticmethod
    def clamped(gate: str, code: str, intent: OrderIntent, **details: Any) -> Verdict:
        return Verdict(gate, Outcome.CLAMP, code, details, intent)


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
