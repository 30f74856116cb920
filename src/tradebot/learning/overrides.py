"""The versioned overrides file: what post-trade learning set, since when, until when, and why.

``learned_overrides.json`` is the version in force; every version ever written is kept, unchanged, as
``<name>.versions/NNNNNN.json`` (the same bytes). A version holds, per override, the parameter, its symbol
and sleeve, the value, the value before it, the configured base, the reason and the metrics that moved it,
when it was set and when it expires (``max_override_age_days`` later); and the list of changes it made from
the version before it. Rolling back to version V writes V's stored bytes as the file in force (version 0:
no overrides, the file removed), so the file is byte for byte what it was. Every write is atomic
(``ops.atomic.write_atomic``): a reader sees the old file or the new one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from tradebot.ops.atomic import write_atomic

FORMAT = 1
FILE_MODE = 0o600
_VERSION_NAME = re.compile(r"^(\d{6})\.json$")

COST_BUFFER = "entry_cost_buffer_bps"  # the constitution's liquidity.entry_cost_buffer_bps of a symbol
DEADBAND = "min_direction"  # the ensemble's |direction| threshold of a symbol's sleeve
CONFIRMATION = "min_agreement"  # the ensemble's agreement threshold of a symbol's sleeve
PARAMETERS = (COST_BUFFER, DEADBAND, CONFIRMATION)
NO_SLEEVE = ""  # the key of a per-symbol parameter (the cost buffer)


class OverridesError(ValueError):
    """The overrides file or a stored version cannot be used (names the file and what is wrong)."""


@dataclass(frozen=True, slots=True)
class Override:
    parameter: str
    symbol: str
    sleeve: str  # NO_SLEEVE for a per-symbol parameter
    value: Decimal
    previous: Decimal  # the value in force before it was set
    base: Decimal  # the configured value it overrides
    reason: str
    metrics: Mapping[str, Any]
    set_at: datetime
    day: date  # the session day it was set for
    expires_at: datetime

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.parameter, self.symbol, self.sleeve)

    def as_dict(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter, "symbol": self.symbol, "sleeve": self.sleeve,
            "value": str(self.value), "previous": str(self.previous), "base": str(self.base),
            "reason": self.reason, "metrics": dict(self.metrics), "set_at": self.set_at.isoformat(),
            "day": self.day.isoformat(), "expires_at": self.expires_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> Override:
        names = {f.name for f in fields(cls)}
        if set(body) != names:
            raise ValueError(f"an override needs exactly the keys {sorted(names)}, got {sorted(body)}")
        if body["parameter"] not in PARAMETERS:
            raise ValueError(f"unknown parameter {body['parameter']!r} (one of {', '.join(PARAMETERS)})")
        return cls(
            parameter=str(body["parameter"]), symbol=str(body["symbol"]), sleeve=str(body["sleeve"]),
            value=Decimal(str(body["value"])), previous=Decimal(str(body["previous"])),
            base=Decimal(str(body["base"])), reason=str(body["reason"]), metrics=dict(body["metrics"]),
            set_at=_aware(body["set_at"]), day=date.fromisoformat(str(body["day"])),
            expires_at=_aware(body["expires_at"]),
        )


@dataclass(frozen=True, slots=True)
class OverridesVersion:
    version: int
    created_at: datetime
    day: date  # the session day whose close wrote it
    previous_version: int  # 0: none before it
    overrides: tuple[Override, ...]
    changes: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    def in_force(self, now: datetime) -> tuple[Override, ...]:
        """The overrides not expired at ``now``."""
        return tuple(o for o in self.overrides if o.expires_at > now)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "version": self.version, "created_at": self.created_at.isoformat(),
            "day": self.day.isoformat(), "previous_version": self.previous_version,
            "overrides": [o.as_dict() for o in self.overrides],
            "changes": [dict(c) for c in self.changes],
        }

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes, where: Path) -> OverridesVersion:
        try:
            body = orjson.loads(data)
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
            if body.get("format") != FORMAT:
                raise ValueError(f"format must be {FORMAT}, got {body.get('format')!r}")
            version = body["version"]
            if not isinstance(version, int) or version < 1:
                raise ValueError(f"version must be a whole number >= 1, got {version!r}")
            return cls(
                version=version, created_at=_aware(body["created_at"]),
                day=date.fromisoformat(str(body["day"])), previous_version=int(body["previous_version"]),
                overrides=tuple(Override.from_dict(o) for o in body["overrides"]),
                changes=tuple(dict(c) for c in body.get("changes", [])),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise OverridesError(f"{where}: not a usable learned-overrides version ({exc})") from None


def _aware(text: Any) -> datetime:
    when = datetime.fromisoformat(str(text))
    if when.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone")
    return when


class OverridesFile:
    """The overrides file in force and its stored versions (``path`` and ``<path>.versions/``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.versions_dir = self.path.with_name(self.path.name + ".versions")

    def current(self) -> OverridesVersion | None:
        """The version in force (None: no file, no overrides)."""
        if not self.path.exists():
            return None
        if not self.path.is_file():
            raise OverridesError(f"{self.path}: the learned-overrides path is not a file")
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise OverridesError(f"{self.path}: cannot read the learned overrides ({exc.strerror})") from None
        return OverridesVersion.from_bytes(data, self.path)

    def version_path(self, version: int) -> Path:
        return self.versions_dir / f"{version:06d}.json"

    def stored_versions(self) -> list[int]:
        if not self.versions_dir.is_dir():
            return []
        found = (_VERSION_NAME.match(p.name) for p in self.versions_dir.iterdir())
        return sorted(int(m.group(1)) for m in found if m is not None)

    def stored(self, version: int) -> OverridesVersion:
        path = self.version_path(version)
        if not path.is_file():
            raise OverridesError(f"{path}: no stored version {version} (stored: {self.stored_versions()})")
        return OverridesVersion.from_bytes(path.read_bytes(), path)

    def version_of_day(self, day: date) -> OverridesVersion | None:
        """The version learning wrote for ``day`` (None: none yet): a day learns once."""
        for number in reversed(self.stored_versions()):
            each = self.stored(number)
            if each.day == day:
                return each
        return None

    def next_version(self) -> int:
        stored = self.stored_versions()
        current = self.current()
        return max([0, *stored, current.version if current else 0]) + 1

    def write(self, version: OverridesVersion) -> bytes:
        """Store ``version`` (its own file first, then the file in force, each atomically)."""
        data = version.to_bytes()
        self.versions_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(self.version_path(version.version), data, mode=FILE_MODE)
        write_atomic(self.path, data, mode=FILE_MODE)
        return data

    def rollback(self, to: int | None = None) -> tuple[int, int]:
        """Put stored version ``to`` back in force, byte for byte (default: the one before the version in
        force; 0: no overrides). Returns (the version that was in force, the version now in force)."""
        current = self.current()
        if current is None:
            raise OverridesError(f"{self.path}: no learned overrides in force, nothing to roll back")
        target = current.previous_version if to is None else to
        if target < 0:
            raise OverridesError(f"version {target}: versions are whole numbers >= 0")
        if target == current.version:
            raise OverridesError(f"version {target} is already in force")
        if target == 0:
            self.path.unlink()
            return current.version, 0
        data = self.version_path(target)
        self.stored(target)  # refuses a missing or damaged version before anything changes
        write_atomic(self.path, data.read_bytes(), mode=FILE_MODE)
        return current.version, target


def with_override(overrides: tuple[Override, ...], new: Override) -> tuple[Override, ...]:
    """``overrides`` with ``new`` in place of the one of its key (or added), in key order."""
    kept = {o.key: o for o in overrides}
    kept[new.key] = new
    return tuple(kept[k] for k in sorted(kept))

