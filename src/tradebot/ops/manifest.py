"""The run manifest: what exactly is running, written at startup to the run dir and the store.

Contents: time, mode, masked account id, the redacted config and constitution with their sha256
hashes, feature flags, the git commit (when the code runs from a git checkout), the versions of Python,
tradebot, each broker plugin and each client library, and the runtime contract (test doubles loaded,
problems). Secrets: everything goes through ``secrets.redact``; ``write_manifest`` refuses to write a
manifest in which a registered secret value still appears.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from tradebot.domain.state import Mode
from tradebot.ops.atomic import write_atomic
from tradebot.ops.runtime_contract import check_runtime_contract, loaded_test_doubles
from tradebot.ops.secrets import REGISTRY, redact

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


class PluginInfo(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def client_libraries(self) -> tuple[str, ...]: ...


class ManifestError(Exception):
    pass


def mask_account_id(account_id: str) -> str:
    """Keep the last 4 characters (2 if shorter than 8); star the rest. Empty stays empty."""
    account_id = account_id.strip()
    if not account_id:
        return ""
    keep = 4 if len(account_id) >= 8 else min(2, len(account_id) - 1)
    return "*" * (len(account_id) - keep) + account_id[len(account_id) - keep :]


def canonical_hash(data: Any) -> str:
    """sha256 of the canonical (sorted-key) JSON of already-redacted data."""
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


def git_commit(repo_dir: Path | None = None, timeout_s: float = 2.0) -> str | None:
    """``git rev-parse HEAD`` in ``repo_dir`` (default: this package's directory); None when unavailable."""
    cwd = repo_dir or Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) in (40, 64) else None


def distribution_version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def build_manifest(
    mode: Mode | str,
    config_dict: Mapping[str, Any],
    constitution_dict: Mapping[str, Any] | None,
    plugins: Sequence[PluginInfo],
    flags: Mapping[str, Any],
    account_id: str,
    *,
    now: datetime,
    client_libraries: Iterable[str] = (),
    run_id: str | None = None,
    repo_dir: Path | None = None,
    contract_problems: Sequence[str] | None = None,
    modules: Iterable[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest as plain JSON-able data (see the module doc). ``now`` is the run's clock time.

    ``contract_problems``: the result of ``check_runtime_contract`` if the caller already ran it; else
    it is run here without loading plugins.
    """
    mode = Mode(mode)
    config = redact(config_dict)
    constitution = redact(constitution_dict) if constitution_dict is not None else None
    libraries = sorted({*client_libraries, *(lib for p in plugins for lib in p.client_libraries)})
    if contract_problems is None:
        contract_problems = check_runtime_contract(
            mode, (), libraries, entry_points={}, modules=modules, load_plugins=False
        )
    doubles = loaded_test_doubles(modules)
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "time": now.isoformat(),
        "run_id": run_id,
        "mode": mode.value,
        "account_id": mask_account_id(account_id),
        "config_hash": canonical_hash(config),
        "constitution_hash": canonical_hash(constitution) if constitution is not None else None,
        "config": config,
        "constitution": constitution,
        "feature_flags": redact(dict(flags)),
        "git_commit": git_commit(repo_dir),
        "versions": {
            "python": platform.python_version(),
            "tradebot": distribution_version("tradebot"),
            "plugins": {p.name: p.version for p in plugins},
            "client_libraries": {lib: distribution_version(lib) for lib in libraries},
        },
        "runtime_contract": {
            "test_doubles_loaded": doubles,
            "test_doubles_reachable": bool(doubles),
            "problems": list(contract_problems),
            "ok": not contract_problems and (mode is not Mode.LIVE or not doubles),
        },
        "host": {"pid": os.getpid(), "platform": platform.platform(terse=True)},
    }
    if extra:
        manifest["extra"] = redact(dict(extra))
    return manifest


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2, default=str)


def write_manifest(run_dir: Path, manifest: Mapping[str, Any], name: str = MANIFEST_NAME) -> Path:
    """Write ``manifest`` to ``run_dir/name`` (0600, atomically). Refuses if a registered secret leaks."""
    body = manifest_bytes(manifest)
    text = body.decode()
    leaked = sum(1 for value in REGISTRY.values() if value in text)
    if leaked:
        raise ManifestError(f"refusing to write the manifest: {leaked} secret value(s) would be written")
    run_dir.mkdir(parents=True, exist_ok=True)
    return write_atomic(run_dir / name, body + b"\n", mode=0o600)
