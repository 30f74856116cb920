"""Which event store a run writes, and whether it may continue one that already holds a run.

A run on bars from a file is a backtest: by default it writes a new store,
``<run_dir>/stores/<UTC time>-<mode>.db`` (earlier ones are kept; nothing is ever deleted). ``--resume``
continues one: the one named by ``--store`` (or ``run.store``), else the latest under ``<run_dir>/stores``.
A named store that already holds a run is refused unless ``--resume`` is given.

A run on a broker feed, and every ``--session`` run, keeps the account's record in one store (``--store``,
else ``run.store``, else ``<run_dir>/tradebot.db``) and always continues it: a run restarted after a crash
(by systemd or cron) finds its orders, positions, trading state and session progress there.

Whatever the way a store is continued, it must have been written by the same config (hash), the same
instruments and the same data; otherwise the run is refused (exit 2) with what differs named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tradebot.exit_codes import ExitCode
from tradebot.pipeline.app import RunRefused

STORES_DIR = "stores"
CONTINUOUS_STORE_NAME = "tradebot.db"
STORE_SUFFIX = ".db"


@dataclass(frozen=True, slots=True)
class StoreChoice:
    path: Path
    continues: bool  # the store already holds a run that this one continues


@dataclass(frozen=True, slots=True)
class RunIdentity:
    """What a run records in its ``run_start`` event that a continued store must match."""

    config_hash: str
    instruments: Sequence[Mapping[str, Any]]
    data: str
    config: Mapping[str, Any]  # the decision config the hash is of (to name the keys that differ)
    defaults: Mapping[str, Any] | None = None  # every key's default (a key newer than the store, at it)


def stores_dir(run_dir: Path) -> Path:
    return run_dir / STORES_DIR


def new_store_path(run_dir: Path, mode: str, now: datetime) -> Path:
    """``<run_dir>/stores/<UTC time to the millisecond>-<mode>.db``, a name no existing store has.

    Names sort in the order the runs started (the latest is the greatest).
    """
    directory = stores_dir(run_dir)
    stamp = now.astimezone(UTC)
    while True:
        path = directory / f"{stamp.strftime('%Y%m%dT%H%M%S')}.{stamp.microsecond // 1000:03d}Z-{mode}.db"
        if not path.exists():
            return path
        stamp += timedelta(milliseconds=1)


def latest_store(run_dir: Path) -> Path | None:
    """The store of the latest run under ``<run_dir>/stores`` (None when there is none)."""
    directory = stores_dir(run_dir)
    if not directory.is_dir():
        return None
    stores = sorted(p for p in directory.iterdir() if p.suffix == STORE_SUFFIX and p.is_file())
    return stores[-1] if stores else None


def default_store(run_dir: Path, configured: Path | None) -> Path | None:
    """The store ``status`` and ``report`` read without ``--store``: ``run.store`` when configured, else the
    most recently written of ``<run_dir>/tradebot.db`` and the latest under ``<run_dir>/stores``."""
    if configured is not None:
        return configured
    candidates = [p for p in (latest_store(run_dir), run_dir / CONTINUOUS_STORE_NAME) if p and p.is_file()]
    if not candidates:
        return None
    return max(candidates, key=_written_at)


def _written_at(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    times = [path.stat().st_mtime_ns] + ([wal.stat().st_mtime_ns] if wal.exists() else [])
    return max(times)


def choose_store(
    *,
    named: Path | None,
    run_dir: Path,
    mode: str,
    resume: bool,
    continuous: bool,
    now: datetime,
) -> StoreChoice:
    """The store this run writes (see the module docstring); refuses (exit 2) what must not be written."""
    if named is not None and named.is_dir():
        raise RunRefused(
            f"--store/--out: {named} is a directory; give the event store's file path "
            f"(e.g. {named / CONTINUOUS_STORE_NAME})",
            ExitCode.CONFIG_ERROR,
        )
    if continuous:
        path = named or run_dir / CONTINUOUS_STORE_NAME
        return StoreChoice(path, stored_run(path) is not None)
    if named is not None:
        held = stored_run(named)
        if held is not None and not resume:
            raise RunRefused(
                f"--store: {named} already holds a run ({_describe(held)}); a new run needs a new store: "
                f"give another --store, or none for a new one under {stores_dir(run_dir)}; to continue "
                f"this one, add --resume",
                ExitCode.CONFIG_ERROR,
            )
        return StoreChoice(named, held is not None)
    if resume:
        latest = latest_store(run_dir)
        if latest is None:
            raise RunRefused(
                f"--resume: no store to continue under {stores_dir(run_dir)}; run without --resume to "
                "start a new one, or name one with --store",
                ExitCode.CONFIG_ERROR,
            )
        return StoreChoice(latest, stored_run(latest) is not None)
    return StoreChoice(new_store_path(run_dir, mode, now), False)


def stored_run(path: Path) -> Mapping[str, Any] | None:
    """The body of the last ``run_start`` event in ``path`` (None: no store there, or no run in it)."""
    return _last_body(path, "run_start")


def stored_config(path: Path) -> Mapping[str, Any] | None:
    """The decision config of the last run in ``path``, from its ``run_manifest`` event (None: none)."""
    manifest = _last_body(path, "run_manifest")
    config = manifest.get("config") if manifest is not None else None
    return config if isinstance(config, Mapping) else None


def _last_body(path: Path, kind: str) -> Mapping[str, Any] | None:
    if not path.is_file():
        return None
    from tradebot.store import StoreReader

    with StoreReader(path) as reader:
        if reader.max_seq() == 0:
            return None
        event = reader.last_event(kind)
    return event.body if event is not None else None


def check_continuable(path: Path, stored: Mapping[str, Any], identity: RunIdentity) -> None:
    """Refuse (exit 2) to continue ``path`` when its run was recorded with another config hash,
    other instruments or other data than this run would record, naming each difference."""
    differences: list[str] = []
    recorded = stored_config(path)
    same = recorded is not None and identity.defaults is not None and (
        without_new_defaults(identity.config, recorded, identity.defaults) == recorded
    )
    if stored.get("config_hash") != identity.config_hash and not same:
        keys = changed_keys(recorded or {}, identity.config)
        named = f" ({'; '.join(keys[:6])}{'; ...' if len(keys) > 6 else ''})" if keys else ""
        differences.append(
            f"config hash {str(stored.get('config_hash'))[:16]} (stored) != {identity.config_hash[:16]} "
            f"(this run's config){named}"
        )
    stored_instruments = list(stored.get("instruments") or [])
    if stored_instruments != [dict(i) for i in identity.instruments]:
        differences.append(
            f"instruments {_symbols(stored_instruments)} (stored) != {_symbols(identity.instruments)} "
            "(this run)" + ("" if _symbols(stored_instruments) != _symbols(identity.instruments) else
                           ": same symbols, other specifications")
        )
    if stored.get("data") != identity.data:
        differences.append(f"data {stored.get('data')!r} (stored) != {identity.data!r} (this run)")
    if differences:
        raise RunRefused(
            f"cannot continue the store {path}: it holds a run recorded with a different "
            + "; ".join(differences)
            + ". Run with the config and data it was recorded with, or start a new store (--store PATH "
            "for a new file, or no --store and no --resume for a backtest)",
            ExitCode.CONFIG_ERROR,
        )


def without_new_defaults(
    current: Mapping[str, Any], recorded: Mapping[str, Any], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """``current`` less the keys the recorded config does not have and that are at their default: what a
    newer version added (a new section, a new setting) changes nothing a run decides until it is set, so a
    store recorded before it can be continued. A key set to anything else still differs."""
    kept: dict[str, Any] = {}
    for key, value in current.items():
        default = defaults.get(key, _MISSING)
        if key not in recorded:
            if value != default:
                kept[key] = value
        elif isinstance(value, Mapping) and isinstance(recorded[key], Mapping):
            below = default if isinstance(default, Mapping) else {}
            kept[key] = without_new_defaults(value, recorded[key], below)
        else:
            kept[key] = value
    return kept


def _symbols(instruments: Sequence[Mapping[str, Any]]) -> str:
    return ",".join(str(i.get("symbol")) for i in instruments) or "none"


def _describe(run: Mapping[str, Any]) -> str:
    instruments = _symbols(run.get("instruments") or [])
    return f"mode {run.get('mode')}, data {run.get('data')}, instruments {instruments}"


def changed_keys(stored: Mapping[str, Any], current: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``key.path: stored -> current`` for every leaf that differs between two configs."""
    changes: list[str] = []
    for key in sorted(set(stored) | set(current), key=str):
        path = f"{prefix}{key}"
        old, new = stored.get(key, _MISSING), current.get(key, _MISSING)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changes.extend(changed_keys(old, new, f"{path}."))
        elif old != new:
            changes.append(f"{path}: {_shown(old)} -> {_shown(new)}")
    return changes


_MISSING = object()


def _shown(value: object) -> str:
    return "(absent)" if value is _MISSING else repr(value)
