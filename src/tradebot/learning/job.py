"""One learning pass for one session day: the overrides in force, the evidence, the rules → a new version
of the overrides file (or none when nothing changed), with every change's reason and metrics.

A day learns once: when a version for the day is stored already (a close redone after a restart, a second
``tradebot learn`` the same day) that version is the result and nothing is written, so no parameter moves
twice in one day. Overrides expired at ``now`` are dropped from the new version (a change of their own).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tradebot.domain import reasons
from tradebot.learning.config import LearningConfig
from tradebot.learning.metrics import SymbolEvidence
from tradebot.learning.overrides import (
    CONFIRMATION,
    COST_BUFFER,
    DEADBAND,
    Override,
    OverridesFile,
    OverridesVersion,
    with_override,
)
from tradebot.learning.rules import Proposal, cost_buffer_proposal, threshold_proposal

EXPIRED = "EXPIRED"
LEARNING_OVERRIDE_KIND = "learning_override"  # the stored event of one change


@dataclass(frozen=True, slots=True)
class Target:
    """A parameter learning may move: its key and its configured value."""

    parameter: str
    symbol: str
    sleeve: str
    base: Decimal

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.parameter, self.symbol, self.sleeve)


@dataclass(frozen=True, slots=True)
class LearnOutcome:
    day: date
    version: int  # the day's version (an earlier one when nothing changed; 0: none)
    written: bool  # a new version was written by this pass
    already: bool  # the day had learned before (its stored version is the outcome)
    changes: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    evidence: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(), "version": self.version, "written": self.written,
            "already": self.already, "changes": [dict(c) for c in self.changes],
            "evidence": {k: dict(v) for k, v in self.evidence.items()},
        }


def allowed_targets(targets: Sequence[Target], cfg: LearningConfig) -> list[Target]:
    allowed = {COST_BUFFER: cfg.adjust_cost_buffer, DEADBAND: cfg.adjust_deadband,
               CONFIRMATION: cfg.adjust_confirmation}
    return [t for t in targets if allowed.get(t.parameter, False)]


def learn(
    overrides: OverridesFile,
    targets: Sequence[Target],
    evidence: Mapping[str, SymbolEvidence],
    cfg: LearningConfig,
    now: datetime,
    day: date,
) -> LearnOutcome:
    """Learn for ``day`` at ``now`` (see the module doc)."""
    seen = {s: e.as_dict() for s, e in evidence.items()}
    done = overrides.version_of_day(day)
    if done is not None:
        return LearnOutcome(day, done.version, False, True, done.changes, seen)
    current = overrides.current()
    kept: tuple[Override, ...] = current.in_force(now) if current else ()
    changes: list[dict[str, Any]] = [
        {**_key(o), "from": str(o.value), "to": str(o.base), "reason": EXPIRED,
         "metrics": {"set_at": o.set_at.isoformat(), "expires_at": o.expires_at.isoformat()}}
        for o in (current.overrides if current else ()) if o.expires_at <= now
    ]
    in_force = {o.key: o for o in kept}
    for target in allowed_targets(targets, cfg):
        held = in_force.get(target.key)
        value = held.value if held is not None else target.base
        proposal = _propose(target, value, evidence.get(target.symbol), cfg)
        if proposal is None:
            continue
        new = Override(
            parameter=target.parameter, symbol=target.symbol, sleeve=target.sleeve, value=proposal.value,
            previous=value, base=target.base, reason=proposal.reason, metrics=proposal.metrics, set_at=now,
            day=day, expires_at=now + timedelta(days=cfg.max_override_age_days),
        )
        kept = with_override(kept, new)
        changes.append({**_key(new), "from": str(value), "to": str(new.value), "reason": new.reason,
                        "metrics": dict(new.metrics)})
    if not changes:
        return LearnOutcome(day, current.version if current else 0, False, False, (), seen)
    version = OverridesVersion(
        version=overrides.next_version(), created_at=now, day=day,
        previous_version=current.version if current else 0, overrides=kept, changes=tuple(changes),
    )
    overrides.write(version)
    return LearnOutcome(day, version.version, True, False, version.changes, seen)


def _propose(target: Target, value: Decimal, evidence: SymbolEvidence | None,
             cfg: LearningConfig) -> Proposal | None:
    if target.parameter == COST_BUFFER:
        return cost_buffer_proposal(value, evidence, cfg)
    hard_max = cfg.max_deadband if target.parameter == DEADBAND else cfg.max_confirmation
    return threshold_proposal(value, Decimal(str(hard_max)), evidence, cfg)


def _key(o: Override) -> dict[str, str]:
    return {"parameter": o.parameter, "symbol": o.symbol, "sleeve": o.sleeve}


def change_events(outcome: LearnOutcome) -> list[dict[str, Any]]:
    """One ``learning_override`` event body per change (code LEARNING_OVERRIDE), each naming its version."""
    return [{"code": reasons.LEARNING_OVERRIDE, "version": outcome.version, "day": outcome.day.isoformat(),
             **dict(change)} for change in outcome.changes]
