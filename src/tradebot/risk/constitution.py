"""The constitution: hard limits per instrument, from ``config/constitution.yaml``, loaded and hashed once.

File shape::

    version: 1
    default:            # rules for any instrument without its own section
      limits: {...}
      session: {...}
      entry_policy: {...}
      governor: {...}
      pretrade: {...}
    instruments:
      MES:              # merged key by key over ``default``
        limits: {...}

Configuration fails closed: every key of ``REQUIRED`` (every hard limit, the session's trading times and
the per-order caps) must be written for each instrument, in its own section or in ``default``; "no limit"
is only ever an explicit ``null``. The other keys (entry policy, governor, the rest of pre-trade) have the
documented defaults of ``risk.rules``. When ``default`` itself lacks a required key, an instrument without
its own section has no rules: ``rules_for`` refuses it and ``missing_for`` says what is missing.

Times of day are quoted ``"HH:MM"`` strings; an unquoted ``15:55`` (the YAML 1.1 base-60 number 955) is
refused with what was read. Unknown keys are errors naming their path (``instruments.MES.limits.daily_loss
_cap``); every error in the file is listed at once. ``Constitution.sha256`` is the sha256 of the canonical
JSON of the validated, merged content (overrides included), so two files that mean the same thing hash
the same.

Env overrides (``TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__DAILY_LOSS_CAP_USD=20``) go through
``apply_overrides``, validated like the file; in live mode an override that loosens a limit is refused with
the key, the file's value and the override named.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from tradebot.domain.state import Mode
from tradebot.risk.rules import LOOSEN_KEY, InstrumentRules, LimitsRules

ENV_PREFIX = "TRADEBOT_CONSTITUTION__"
_SECTIONS = frozenset(InstrumentRules.model_fields)
_TOP_KEYS = ("version", "default", "instruments")

REQUIRED: Mapping[str, tuple[str, ...]] = {
    "limits": tuple(LimitsRules.model_fields),
    "session": ("timezone", "trading_hours", "no_trade_windows", "flatten_at"),
    "pretrade": ("max_order_usd", "max_order_qty"),
}
"""Keys every instrument must be given (in its section or in ``default``): left out, they would mean
"no limit" (or, for the timezone, trading times read in the wrong zone)."""


class ConstitutionError(ValueError):
    """The constitution is invalid; ``errors`` lists every problem as ``path: message``."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: invalid constitution:\n  " + "\n  ".join(errors))


class ConstitutionOverrideRefused(ConstitutionError):
    """An env override would loosen a hard limit in live mode (``key`` is the first one refused)."""

    def __init__(self, key: str, errors: list[str]) -> None:
        self.key = key
        super().__init__("environment", errors)


class Constitution(BaseModel):
    """Validated, merged constitution. ``rules_for(symbol)`` is what gates read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    default: InstrumentRules = InstrumentRules()
    instruments: dict[str, InstrumentRules] = {}
    # required keys absent from ``default``: an instrument without its own section has no rules
    default_missing: tuple[str, ...] = ()

    def missing_for(self, symbol: str) -> tuple[str, ...]:
        """The required keys ``symbol`` has no value for (empty: it is fully constrained)."""
        return () if symbol in self.instruments else self.default_missing

    def rules_for(self, symbol: str) -> InstrumentRules:
        if symbol in self.instruments:
            return self.instruments[symbol]
        if self.default_missing:
            raise KeyError(
                f"constitution has no rules for {symbol}: no instruments.{symbol} section and default "
                f"lacks {', '.join(self.default_missing)}"
            )
        return self.default

    def canonical_json(self) -> str:
        body = self.model_dump(mode="json")
        if not self.default_missing:
            body.pop("default_missing")  # a complete file hashes as it always did
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a near miss among ``choices``, else an empty string."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


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


def _field_names(loc: tuple[int | str, ...]) -> list[str]:
    """The sibling keys of the key at ``loc`` inside InstrumentRules (for "did you mean")."""
    model: Any = InstrumentRules
    for part in loc[:-1]:
        info = model.model_fields.get(part) if isinstance(part, str) else None
        if info is None or not (isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)):
            return []
        model = info.annotation
    return list(model.model_fields)


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key" + did_you_mean(str(err["loc"][-1]), _field_names(err["loc"]))
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


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
            errors.append(f"{_loc(prefix, err['loc'])}: {_message(err)}")
        return None


def _missing(raw: Any) -> tuple[str, ...]:
    """The REQUIRED keys that ``raw`` (a merged section mapping) does not write."""
    raw = raw if isinstance(raw, Mapping) else {}
    missing: list[str] = []
    for section, keys in REQUIRED.items():
        given = raw.get(section)
        given = given if isinstance(given, Mapping) else {}
        missing.extend(f"{section}.{key}" for key in keys if key not in given)
    return tuple(missing)


def _accepts_null(key: str) -> bool:
    section, field = key.split(".")
    model = type(getattr(InstrumentRules(), section))
    try:
        model.model_validate({field: None})
    except ValidationError:
        return False
    return True


def _required_message(prefix: str, key: str, where: str) -> str:
    how = "write a value, or null for no limit" if _accepts_null(key) else "write a value"
    return f"{prefix}.{key}: required{where} ({how})"


def parse_constitution(raw: Any, source: str = "constitution") -> Constitution:
    """Validate a parsed YAML/JSON document; raise ConstitutionError listing every problem."""
    errors: list[str] = []
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConstitutionError(source, [f"<root>: must be a mapping, got {type(raw).__name__}"])
    for key in raw:
        if key not in _TOP_KEYS:
            errors.append(
                f"{key}: unknown key{did_you_mean(str(key), _TOP_KEYS)} (expected version, "
                "default, instruments)"
            )
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
    base = raw_default if isinstance(raw_default, Mapping) else {}
    default_missing = _missing(base)
    for symbol, section in raw_instruments.items():
        prefix = f"instruments.{symbol}"
        if section is not None and not isinstance(section, Mapping):
            errors.append(f"{prefix}: must be a mapping, got {type(section).__name__}")
            continue
        merged = _merge(base, section or {})
        errors.extend(
            _required_message(prefix, key, " (in this section or in default)") for key in _missing(merged)
        )
        rules = _validate_rules(merged, prefix, errors)
        if rules is not None:
            instruments[str(symbol)] = rules
    if default_missing and not raw_instruments:
        # nothing is constrained at all: every limit the file leaves out is an error
        errors.extend(_required_message("default", key, "") for key in default_missing)
    if errors or default is None:
        raise ConstitutionError(source, errors or ["default: invalid"])
    return Constitution(version=1, default=default, instruments=instruments, default_missing=default_missing)


# --- overrides ------------------------------------------------------------------------------------


def _parse_env_value(text: str) -> Any:
    """``null`` is "no limit"; a JSON object or list (a window) is parsed; anything else is validated
    as text by the field's own type. An empty value is refused: "no limit" is only an explicit null."""
    stripped = text.strip()
    if stripped == "":
        raise ValueError("empty value (write null for no limit)")
    if stripped.lower() == "null":
        return None
    if stripped[0] in "[{":
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
    return stripped


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


def _show(value: Any) -> str:
    return "null" if value is None else str(value)


def override_keys(env: Mapping[str, str], prefix: str = ENV_PREFIX) -> list[str]:
    """The environment variables that override the constitution."""
    return sorted(k for k in env if k.upper().startswith(prefix.upper()))


def _override_target(key: str, prefix: str, raw: Mapping[str, Any]) -> tuple[str | None, str, str]:
    """``(symbol or None for default, section, field)`` named by ``key``; ValueError says what is wrong."""
    parts = [p.lower() for p in key[len(prefix) :].split("__")]
    if parts and parts[0] == "default" and len(parts) == 3:
        symbol: str | None = None
        section, field = parts[1], parts[2]
    elif parts and parts[0] == "instruments" and len(parts) == 4:
        raw_instruments = raw.get("instruments")
        known = [str(s) for s in raw_instruments] if isinstance(raw_instruments, Mapping) else []
        symbol = next((s for s in known if s.lower() == parts[1]), None)
        if symbol is None:
            raise ValueError(
                f"the constitution file has no instruments.{parts[1].upper()} section"
                f"{did_you_mean(parts[1].upper(), known)} (it has: {', '.join(known) or 'none'})"
            )
        section, field = parts[2], parts[3]
    else:
        raise ValueError(
            f"expected {prefix}DEFAULT__<SECTION>__<FIELD> or "
            f"{prefix}INSTRUMENTS__<SYMBOL>__<SECTION>__<FIELD>"
        )
    if section not in _SECTIONS:
        raise ValueError(f"unknown constitution section {section!r}{did_you_mean(section, _SECTIONS)}")
    fields = type(getattr(InstrumentRules(), section)).model_fields
    if field not in fields:
        raise ValueError(f"unknown constitution key {section}.{field}{did_you_mean(field, fields)}")
    return symbol, section, field


def _with_override(raw: Mapping[str, Any], symbol: str | None, section: str, field: str, value: Any) -> Any:
    data = dict(raw)
    if symbol is None:
        node = dict(data.get("default") or {})
        data["default"] = node
    else:
        instruments = dict(data["instruments"])
        data["instruments"] = instruments
        node = dict(instruments[symbol] or {})
        instruments[symbol] = node
    node[section] = {**dict(node.get(section) or {}), field: value}
    return data


def apply_overrides(
    raw: Any,
    env: Mapping[str, str],
    mode: Mode,
    source: str = "constitution",
    prefix: str = ENV_PREFIX,
) -> Constitution:
    """The constitution of the parsed file ``raw`` with the ``TRADEBOT_CONSTITUTION__...`` overrides of
    ``env`` written into it, validated exactly like the file (an override of ``default`` reaches every
    instrument that inherits the key, as if it had been written in the file).

    ``DEFAULT__<SECTION>__<FIELD>`` overrides the default section;
    ``INSTRUMENTS__<SYMBOL>__<SECTION>__<FIELD>`` one instrument's section (the file must have that
    section). ``null`` is "no limit"; a window is JSON.
    In live mode an override that loosens a limit for any instrument (or changes a field without a
    tightening direction, such as a window or a timezone) is refused, naming the key, the file's value and
    the override. Every problem is listed at once: loosening raises ConstitutionOverrideRefused, any other
    bad key or value ConstitutionError. The file's own errors raise ConstitutionError with ``source``.
    The result's sha256 covers the overrides (it hashes the merged content).
    """
    base = parse_constitution(raw, source)
    keys = override_keys(env, prefix)
    if not keys:
        return base
    data: Any = raw if isinstance(raw, Mapping) else {}
    errors: list[str] = []
    applied: list[tuple[str, str | None, str, str]] = []
    for key in keys:
        try:
            symbol, section, field = _override_target(key, prefix, data)
            value = _parse_env_value(env[key])
        except ValueError as exc:
            errors.append(f"{key}: {exc}")
            continue
        rules = base.instruments[symbol] if symbol is not None else base.default
        candidate = {**getattr(rules, section).model_dump(mode="python"), field: value}
        try:
            type(getattr(rules, section)).model_validate(candidate)
        except ValidationError as exc:
            errors.extend(f"{key}: {_message(err)} (read {env[key]!r})" for err in exc.errors())
            continue
        data = _with_override(data, symbol, section, field, value)
        applied.append((key, symbol, section, field))
    try:
        result: Constitution | None = parse_constitution(data, "environment")
    except ConstitutionError as exc:
        result = None
        applied_keys = ", ".join(k for k, *_ in applied)
        errors.extend(f"{line} (with {applied_keys})" for line in exc.errors)
    refused = _loosening(base, result, applied) if result is not None and mode is Mode.LIVE else []
    if refused:
        raise ConstitutionOverrideRefused(refused[0].split(":", 1)[0], refused + errors)
    if errors or result is None:
        raise ConstitutionError("environment", errors)
    return result


def _loosening(
    base: Constitution, result: Constitution, applied: list[tuple[str, str | None, str, str]]
) -> list[str]:
    refused: list[str] = []
    for key, symbol, section, field in applied:
        direction = _field_direction(section, field)
        targets: list[str | None] = [symbol] if symbol is not None else [None, *base.instruments]
        for target in targets:
            old = getattr(
                getattr(base.default if target is None else base.instruments[target], section), field
            )
            rules = result.default if target is None else result.instruments[target]
            new = getattr(getattr(rules, section), field)
            if _loosens(direction, old, new):
                where = "default" if target is None else f"instruments.{target}"
                refused.append(
                    f"{key}: refused in live mode: the override {_show(new)} loosens "
                    f"{where}.{section}.{field} (the file says {_show(old)})"
                )
                break
    return refused


def read_constitution(path: str | Path) -> Any:
    """The parsed YAML document of ``path`` (ConstitutionError if it cannot be read or parsed)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConstitutionError(str(file), [f"<file>: cannot read: {exc}"]) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConstitutionError(str(file), [f"<yaml>: {exc}"]) from exc


def load_constitution(
    path: str | Path, env: Mapping[str, str] | None = None, mode: Mode = Mode.OBSERVE
) -> Constitution:
    """Read, validate and merge ``config/constitution.yaml`` with the ``TRADEBOT_CONSTITUTION__`` overrides
    of ``env`` (none when ``env`` is None). Hash it with ``.sha256``."""
    raw = read_constitution(path)
    return apply_overrides(raw, env or {}, mode, source=str(path))
