"""Secrets: loaded as ``SecretStr`` from the environment or an owner-only file, and scrubbed everywhere.

Every secret loaded here is registered; ``scrub_text`` replaces registered values in any text (log
records, exception messages, manifests), and ``redact`` replaces secret-looking keys, ``SecretStr``
values and registered values in nested data before it is printed, hashed or written.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import threading
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

REDACTED = "**********"
SECRET_KEY_HINTS = ("secret", "password", "passphrase", "token", "api_key", "apikey", "key_id", "private_key")
MIN_SECRET_LEN = 4  # shorter values would scrub innocent text and are not credentials anyway


class SecretsError(Exception):
    """A secret could not be loaded safely; the message names the variable or file and why."""


class SecretRegistry:
    """The set of secret values that must never appear in output. Thread-safe."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._sorted: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def register(self, value: str | SecretStr, name: str = "secret") -> None:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if len(raw) < MIN_SECRET_LEN:
            return
        escaped = json.dumps(raw)[1:-1]  # as it appears inside JSON output (quotes, backslashes...)
        with self._lock:
            self._values[raw] = name
            if escaped != raw:
                self._values[escaped] = name
            # longest first, so a secret that contains another is replaced whole
            self._sorted = tuple(sorted(self._values, key=len, reverse=True))

    def values(self) -> tuple[str, ...]:
        return self._sorted  # an immutable snapshot: no lock needed to read it

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._sorted = ()

    def scrub(self, text: str) -> str:
        for value in self.values():
            if value in text:
                text = text.replace(value, REDACTED)
        return text


REGISTRY = SecretRegistry()
"""The process-wide registry: the log scrubber, ``redact`` and the manifest read it."""


def register_secret(value: str | SecretStr, name: str = "secret") -> None:
    REGISTRY.register(value, name)


def scrub_text(text: str) -> str:
    """``text`` with every registered secret value replaced by ``**********``."""
    return REGISTRY.scrub(text)


def check_owner_only(path: Path) -> None:
    """Refuse a secret file that is not a regular file owned by us with no group/other permission bits."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SecretsError(f"secret file {path}: not found") from None
    if not stat.S_ISREG(st.st_mode):
        raise SecretsError(f"secret file {path}: not a regular file")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise SecretsError(
            f"secret file {path}: mode {mode:04o} lets group/others read it; "
            f"it must be owner-only (chmod 600 {path})"
        )
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise SecretsError(f"secret file {path}: owned by uid {st.st_uid}, not by this user ({os.getuid()})")


def load_secret(
    name: str,
    *,
    env: str | None = None,
    file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> SecretStr:
    """Load the secret ``name`` from the environment variable ``env`` or from ``file`` (owner-only).

    Exactly one source must give a value. The value is stripped of surrounding whitespace and registered
    for scrubbing. Errors name the variable or file, never the value.
    """
    environ = os.environ if environ is None else environ
    if env is None and file is None:
        raise SecretsError(f"secret {name}: give an environment variable or a file")
    from_env = environ.get(env) if env is not None else None
    if from_env is not None and file is not None:
        raise SecretsError(f"secret {name}: both ${env} and file {file} are set; use one")
    if from_env is not None:
        value = from_env.strip()
        source = f"${env}"
    elif file is not None:
        check_owner_only(file)
        value = file.read_text(encoding="utf-8").strip()
        source = f"file {file}"
    else:
        raise SecretsError(f"secret {name}: environment variable ${env} is not set")
    if not value:
        raise SecretsError(f"secret {name}: {source} is empty")
    register_secret(value, name)
    return SecretStr(value)


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    if lowered.endswith(("_env", "_file", "_path")):  # where a secret comes from is not the secret
        return False
    return any(hint in lowered for hint in SECRET_KEY_HINTS)


def redact(obj: Any, _key: str = "") -> Any:
    """Plain JSON-able data with secrets replaced by ``**********``.

    Replaces: ``SecretStr`` values, any non-empty string under a secret-looking key (``api_key``,
    ``secret``, ``token``, ``password``...), and registered secret values inside any other string.
    Pydantic models and dataclasses are dumped first; paths and enums become strings.
    """
    if isinstance(obj, SecretStr):
        return REDACTED
    if isinstance(obj, BaseModel):
        return redact(obj.model_dump(mode="python"), _key)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return redact({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, _key)
    if isinstance(obj, Mapping):
        return {str(k): redact(v, str(k)) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = sorted(obj, key=str) if isinstance(obj, set | frozenset) else obj
        return [redact(v, _key) for v in items]
    if isinstance(obj, Enum):
        return redact(obj.value, _key)
    if isinstance(obj, Path):
        return scrub_text(str(obj))
    if isinstance(obj, str):
        if obj and _key and is_secret_key(_key):
            return REDACTED
        return scrub_text(obj)
    if isinstance(obj, bool | int | float) or obj is None:
        return obj
    return scrub_text(str(obj))


def scrub_log_record(record: Any) -> None:
    """A loguru patcher: scrub registered secrets from the message and every string in ``extra``."""
    record["message"] = scrub_text(record["message"])
    extra = record["extra"]
    for key, value in list(extra.items()):
        if isinstance(value, str):
            extra[key] = scrub_text(value)
        elif isinstance(value, SecretStr):
            extra[key] = REDACTED
        elif isinstance(value, Mapping | list | tuple):
            extra[key] = redact(value, key)
