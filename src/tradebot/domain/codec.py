"""Rebuilding domain values from stored event bodies (the inverse of ``asdict`` + the store's encoding).

Bodies hold Decimals as strings, datetimes as ISO-8601 and enums as their values; ``from_body`` turns a
body back into the frozen dataclass by reading the field types, so no value type needs its own decoder.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is not None:
        return value
    if tp is Decimal:
        return Decimal(str(value))
    if tp is datetime:
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(value)
    if dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
        return from_body(tp, value)  # type: ignore[arg-type]
    return value


def from_body(cls: type[T], body: Mapping[str, Any]) -> T:
    """Build the dataclass ``cls`` from a stored body; unknown keys in the body are ignored."""
    hints = _hints(cls)
    kwargs = {
        f.name: _convert(hints[f.name], body[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name in body and f.init
    }
    return cls(**kwargs)
