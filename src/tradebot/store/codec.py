"""Canonical event bodies: the same value always encodes to the same bytes.

``encode_body`` turns a dataclass or a mapping into orjson bytes with sorted keys at every level
(dataclasses included), so two replays of the same run give byte-identical bodies:

- ``Decimal`` → its ``str`` (exact, never through a float);
- ``datetime`` → ISO-8601 in UTC with a ``+00:00`` offset (``datetime.isoformat`` of the UTC value);
  a naive datetime is refused (its instant is unknown); ``date``/``time`` → ``isoformat``;
- enums → their value; tuples → lists; sets/frozensets → sorted lists; other mappings → objects.

Floats are written by orjson in their shortest round-trip form; NaN and infinities become ``null``
(JSON has no NaN), which is why bars are validated before anything about them is recorded.

``format_ts`` gives the text of the store's ``ts`` column. Every value ends in ``+00:00`` and has
fractional seconds only when they are non-zero; because ``+`` sorts before ``.``, the text order of
these strings is their time order, so range queries on the column are plain string comparisons.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import orjson

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
_FIELDS: dict[type, tuple[str, ...]] = {}
_TS_CACHE: dict[datetime, str] = {}  # a bar's events share a few instants (bar open, bar close, now)
_TS_CACHE_MAX = 64


def format_ts(ts: datetime) -> str:
    """ISO-8601 UTC text of an aware datetime (the store's ``ts`` column and body datetimes)."""
    text = _TS_CACHE.get(ts)  # aware datetimes hash and compare as instants (a naive one never matches)
    if text is not None:
        return text
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"naive datetime {ts.isoformat()} has no time zone; event times must be UTC-aware")
    text = ts.isoformat() if ts.tzinfo is UTC else ts.astimezone(UTC).isoformat()
    if len(_TS_CACHE) >= _TS_CACHE_MAX:
        _TS_CACHE.clear()
    _TS_CACHE[ts] = text
    return text


def parse_ts(text: str) -> datetime:
    """The inverse of ``format_ts``."""
    return datetime.fromisoformat(text)


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls))
        _FIELDS[cls] = names
    return names


def _is_dataclass_instance(obj: object) -> bool:
    return type(obj) in _FIELDS or (dataclasses.is_dataclass(obj) and not isinstance(obj, type))


def _default(obj: Any) -> Any:
    kind = type(obj)
    if kind is Decimal:
        return str(obj)
    names = _FIELDS.get(kind)
    if names is not None:  # a dataclass seen before
        return {name: getattr(obj, name) for name in names}
    if isinstance(obj, datetime):
        return format_ts(obj)
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, date | time):
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {name: getattr(obj, name) for name in _field_names(kind)}
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"cannot encode a {kind.__name__} in an event body")


def encode_body(obj: object) -> bytes:
    """Canonical orjson bytes of a dataclass instance or a mapping with string keys."""
    if type(obj) is not dict and not isinstance(obj, Mapping) and not _is_dataclass_instance(obj):
        raise TypeError(f"an event body must be a mapping or a dataclass instance, not {type(obj).__name__}")
    try:
        return orjson.dumps(obj, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:
        cause = exc.__cause__ or exc  # orjson keeps what _default raised as the cause
        raise TypeError(f"cannot encode event body: {cause}") from exc


def decode_body(data: bytes) -> dict[str, Any]:
    """The body as a plain dict (Decimals and datetimes come back as their strings)."""
    value = orjson.loads(data)
    if not isinstance(value, dict):
        raise ValueError(f"event body is not a JSON object: {data[:60]!r}")
    return value
