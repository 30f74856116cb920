"""A Decision as a JSON-able dict: every gate's verdict, the final order, and the config hashes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from tradebot.domain import reasons
from tradebot.risk.verdict import Decision, Outcome

Converter = Callable[[Any], Any]

# One converter per concrete type, chosen once by the rules of ``_converter_for`` (the rules only look at
# the type, so the choice holds for every value of it): a dict lookup per value instead of a chain of
# isinstance checks and a ``dataclasses.fields`` call per dataclass.
_CONVERTERS: dict[type, Converter] = {}


def to_jsonable(value: Any) -> Any:
    """Decimals as strings, times as ISO strings, enums as values, dataclasses and mappings as dicts."""
    convert = _CONVERTERS.get(type(value))
    if convert is None:
        convert = _converter_for(type(value))
    return convert(value)


def _same(value: Any) -> Any:
    return value


def _iso(value: datetime | date | time) -> str:
    return value.isoformat()


def _enum(value: Enum) -> Any:
    return to_jsonable(value.value)


def _mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k): to_jsonable(v) for k, v in value.items()}


def _set(value: set[Any] | frozenset[Any]) -> list[Any]:
    return sorted((to_jsonable(v) for v in value), key=repr)


def _sequence(value: list[Any] | tuple[Any, ...]) -> list[Any]:
    return [to_jsonable(v) for v in value]


def _dataclass(names: tuple[str, ...]) -> Converter:
    def convert(value: Any) -> dict[str, Any]:
        converters = _CONVERTERS
        out: dict[str, Any] = {}
        for name in names:
            item = getattr(value, name)
            fn = converters.get(type(item))
            out[name] = fn(item) if fn is not None else to_jsonable(item)
        return out

    return convert


def _converter_for(cls: type) -> Converter:
    """The converter for values of ``cls``, in the order of the rules: plain JSON values as they are
    (str and int enums included), Decimal, Enum, date/time, dataclass, mapping, set, list/tuple, repr."""
    convert: Converter
    if cls is type(None) or issubclass(cls, bool | int | float | str):
        convert = _same
    elif issubclass(cls, Decimal):
        convert = str
    elif issubclass(cls, Enum):
        convert = _enum
    elif issubclass(cls, datetime | date | time):
        convert = _iso
    elif dataclasses.is_dataclass(cls) and not issubclass(cls, type):
        convert = _dataclass(tuple(f.name for f in dataclasses.fields(cls)))
    elif issubclass(cls, Mapping):
        convert = _mapping
    elif issubclass(cls, set | frozenset):
        convert = _set
    elif issubclass(cls, list | tuple):
        convert = _sequence
    else:
        convert = repr
    _CONVERTERS[cls] = convert
    return convert


def _details(details: Mapping[str, Any]) -> Any:
    if type(details) is dict:
        return {str(k): to_jsonable(v) for k, v in details.items()} if details else {}
    return to_jsonable(details)


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
    blocked = None
    clamps: list[str] = []
    scales: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    block, clamp = Outcome.BLOCK, Outcome.CLAMP
    quantity = decision.intent.quantity
    for v in decision.verdicts:
        outcome = v.outcome
        details = _details(v.details)
        if outcome is block:
            if blocked is None:
                blocked = v
        elif outcome is clamp and v.code:
            clamps.append(v.code)
            after = v.intent.quantity if v.intent is not None else quantity
            scales.append(
                {
                    "gate": v.gate,
                    "code": v.code,
                    "from_qty": str(quantity),
                    "to_qty": str(after),
                    "scale": str(after / quantity) if quantity else None,
                    "because": details,
                }
            )
            quantity = after
        verdicts.append({"gate": v.gate, "outcome": outcome.value, "code": v.code, "details": details})
    intent = to_jsonable(decision.intent)
    approved = decision.approved
    record: dict[str, Any] = {
        "intent": intent,
        "verdicts": verdicts,
        "outcome": "BLOCKED" if blocked else ("CLAMPED" if clamps else "APPROVED"),
        "code": blocked.code if blocked else reasons.APPROVED,
        "clamps": clamps,
        "scales": scales,  # every clamp in chain order: the quantity before and after, and its numbers
        "approved": to_jsonable(approved),
        "order": to_jsonable(order),
        "config_hash": decision.config_hash,
        "constitution_sha256": constitution_sha256,
    }
    if extra:
        record["extra"] = to_jsonable(extra)
    return record
