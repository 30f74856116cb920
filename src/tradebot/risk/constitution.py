"""The constitution: hard limits per instrument, from ``config/constitution.yaml``, loaded and hashed once.

File shape::

    version: 1
    default:            # rules for any instrument without its own section (every key optional)
      limits: {...}
      session: {...}
      entry_policy: {...}
      governor: {...}
      pretrade: {...}
    instruments:
      MES:              # merged key by key over ``default``
        limits: {...}

Unknown keys are errors naming their path (``instruments.MES.limits.daily_loss_cap``); every error in the
file is listed at once. ``Constitution.sha256`` is the sha256 of the canonical JSON of the validated,
merged content, so two files that mean the same thing hash the same.

Env overrides (``TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__DAILY_LOSS_CAP_USD=20``) go through
``apply_overrides``; in live mode an override that loosens a limit is refused with the key named.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from tradebot.domain.state import Mode
from tradebot.risk.rules import LOOSEN_KEY, InstrumentRules

ENV_PREFIX = "TRADEBOT_CONSTITUTION__"
_SECTIONS = frozenset(InstrumentRules.model_fields)


class ConstitutionError(ValueError):
    """The constitution is invalid; ``errors`` lists every problem as ``path: message``."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: invalid constitution:\n  " + "\n  ".join(errors))


class ConstitutionOverrideRefused(ConstitutionError):
    """An env override would loosen a hard limit in live mode."""

    def __init__(self, key: str, old: Any, new: Any) -> None:
        self.key = key
        super().__init__(key, [f"{key}: refused in live mode: {old!r} -> {new!r} loosens the constitution"])


class Constitution(BaseModel):
    """Validated, merged constitution. ``rules_for(symbol)`` is what gates read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    default: InstrumentRules = InstrumentRules()
    instruments: dict[str, InstrumentRules] = {}

    def rules_for(self, symbol: str) -> InstrumentRules:
        return self.instruments.get(symbol, self.default)

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def _merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _loc(prefix: str, loc: tuple[int | str, ...]) -> str:
    parts = [prefix] if prefix else []
    parts.extend(str(p) for p in loc)
    return ".".join(parts) or "<root>"


def _validate_rules(raw: Any, prefix: str, errors: list[str]) -> InstrumentRules | None:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        errors.append(f"{prefix}: must be a mapping, got {type(raw).__name__}")
        return None
    try:
        return InstrumentRules.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            errors.append(f"{_loc(prefix, err['loc'])}: {err['msg']}")
        return None


def parse_constitution(raw: Any, source: str = "constitution") -> Constitution:
    """Validate a parsed YAML/JSON document; raise ConstitutionError listing every problem."""
    errors: list[str] = []
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConstitutionError(source, [f"<root>: must be a mapping, got {type(raw).__name__}"])
    for key in raw:
        if key not in ("version", "default", "instruments"):
            errors.append(f"{key}: unknown key (expected version, default, instruments)")
    version = raw.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version != 1:
        errors.append(f"version: unsupported constitution version {version!r} (expected 1)")
    raw_default = raw.get("default") or {}
    default = _validate_rules(raw_default, "default", errors)
    instruments: dict[str, InstrumentRules] = {}
    raw_instruments = raw.get("instruments") or {}
    if not isinstance(raw_instruments, Mapping):
        errors.append(f"instruments: must be a mapping, got {type(raw_instruments).__name__}")
        raw_instruments = {}
    for symbol, section in raw_instruments.items():
        prefix = f"instruments.{symbol}"
        if section is not None and not isinstance(section, Mapping):
            errors.append(f"{prefix}: must be a mapping, got {type(section).__name__}")
            continue
        base = raw_default if isinstance(raw_default, Mapping) else {}
        rules = _validate_rules(_merge(base, section or {}), prefix, errors)
        if rules is not None:
            instruments[str(symbol)] = rules
    if errors or default is None:
        raise ConstitutionError(source, errors or ["default: invalid"])
    return Constitution(version=1, default=default, instruments=instruments)


def load_constitution(path: str | Path) -> Constitution:
    """Read, validate and merge ``config/constitution.yaml``. Hash it with ``.sha256``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConstitutionError(str(file), [f"<file>: cannot read: {exc}"]) from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConstitutionError(str(file), [f"<yaml>: {exc}"]) from exc
    return parse_constitution(raw, str(file))


# --- overrides ------------------------------------------------------------------------------------


def _parse_env_value(text: str) -> Any:
    return None if text.strip().lower() in ("", "null", "none") else text


def _loosens(direction: str | None, old: Any, new: Any) -> bool:
    if old == new:
        return False
    if direction == "up":
        return new is None or (old is not None and new > old)
    if direction == "down":
        return new is None or (old is not None and new < old)
    if direction == "off":
        return bool(old) and not bool(new)
    if direction == "on":
        return not bool(old) and bool(new)
    return True  # no declared direction (windows, timezones): any change may loosen


def _field_direction(section: str, field: str) -> str | None:
    model = type(getattr(InstrumentRules(), section))
    info = model.model_fields.get(field) if isinstance(model, type) and issubclass(model, BaseModel) else None
    extra = info.json_schema_extra if info is not None else None
    if isinstance(extra, dict):
        value = extra.get(LOOSEN_KEY)
        return value if isinstance(value, str) else None
    return None


def apply_overrides(
    constitution: Constitution,
    env: Mapping[str, str],
    mode: Mode,
    prefix: str = ENV_PREFIX,
) -> Constitution:
    """Apply ``TRADEBOT_CONSTITUTION__...`` overrides from ``env``.

    ``DEFAULT__<SECTION>__<FIELD>`` changes the default section; ``INSTRUMENTS__<SYMBOL>__<SECTION>__<FIELD>``
    one instrument's (created from the default if absent). In live mode an override that loosens a limit
    (or changes a field without a tightening direction, such as a window) raises
    ConstitutionOverrideRefused naming the key. Any other bad key or value raises ConstitutionError.
    """
    data = constitution.model_dump(mode="python")
    errors: list[str] = []
    touched = False
    for key in sorted(env):
        if not key.upper().startswith(prefix.upper()):
            continue
        parts = [p.lower() for p in key[len(prefix) :].split("__")]
        if parts and parts[0] == "default" and len(parts) == 3:
            target = data["default"]
            section, field = parts[1], parts[2]
        elif parts and parts[0] == "instruments" and len(parts) == 4:
            symbol = next((s for s in data["instruments"] if s.lower() == parts[1]), parts[1].upper())
            target = data["instruments"].setdefault(symbol, constitution.default.model_dump(mode="python"))
            section, field = parts[2], parts[3]
        else:
            errors.append(
                f"{key}: expected {prefix}DEFAULT__<SECTION>__<FIELD> or "
                f"{prefix}INSTRUMENTS__<SYMBOL>__<SECTION>__<FIELD>"
            )
            continue
        if section not in _SECTIONS or field not in target[section]:
            errors.append(f"{key}: unknown constitution key {section}.{field}")
            continue
        old = target[section][field]
        candidate = dict(target[section])
        candidate[field] = _parse_env_value(env[key])
        section_model = type(getattr(InstrumentRules(), section))
        try:
            validated = section_model.model_validate(candidate)
        except ValidationError as exc:
            errors.extend(f"{key}: {err['msg']}" for err in exc.errors())
            continue
        new = getattr(validated, field)
        if mode is Mode.LIVE and _loosens(_field_direction(section, field), old, new):
            raise ConstitutionOverrideRefused(key, old, new)
        target[section][field] = new
        touched = True
    if errors:
        raise ConstitutionError("environment", errors)
    if not touched:
        return constitution
    return Constitution.model_validate(data)
