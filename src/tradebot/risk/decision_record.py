"""A Decision as a JSON-able dict: every gate's verdict, the final order, and the config hashes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from tradebot.domain import reasons
from tradebot.risk.verdict import Decision, Outcome


def to_jsonable(value: Any) -> Any:
    """Decimals as strings, times as ISO strings, enums as values, dataclasses and mappings as dicts."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((to_jsonable(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return repr(value)


def decision_record(
    decision: Decision,
    *,
    order: Any = None,
    constitution_sha256: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The record of one intent's trip through the chain.

    ``order`` is the OrderRequest built from ``decision.approved`` (if any); ``config_hash`` is the
    chain's (chain order + gate settings + constitution); ``constitution_sha256`` the constitution's own.
    """
    blocked = decision.blocked_by
    clamps = [v.code for v in decision.verdicts if v.outcome is Outcome.CLAMP and v.code]
    record: dict[str, Any] = {
        "intent": to_jsonable(decision.intent),
        "verdicts": [
            {"gate": v.gate, "outcome": v.outcome.value, "code": v.code, "details": to_jsonable(v.details)}
            for v in decision.verdicts
        ],
        "outcome": "BLOCKED" if blocked else ("CLAMPED" if clamps else "APPROVED"),
        "code": blocked.code if blocked else reasons.APPROVED,
        "clamps": clamps,
        "approved": to_jsonable(decision.approved),
        "order": to_jsonable(order),
        "config_hash": decision.config_hash,
        "constitution_sha256": constitution_sha256,
    }
    if extra:
        record["extra"] = to_jsonable(extra)
    return record
