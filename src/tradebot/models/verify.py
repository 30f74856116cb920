"""Verifying a model artifact: every listed file present with its sha256, nothing missing, nothing extra.

Read only: verification never writes, and neither does loading. Live mode must call ``verify_artifact``
(or a loader, which calls it) at startup and refuse to trade on ``ModelVerificationError``.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from pydantic import ValidationError

from tradebot.domain import reasons
from tradebot.models.manifest import MANIFEST_NAME, ArtifactManifest, manifest_digest, sha256_bytes


class ModelVerificationError(ValueError):
    """The artifact at ``path`` cannot be trusted. ``code`` is MODEL_VERIFICATION_FAILED."""

    code = reasons.MODEL_VERIFICATION_FAILED

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{self.code}: model artifact {path}: " + "; ".join(problems))


def read_manifest(path: Path) -> ArtifactManifest:
    """The manifest of the artifact directory ``path``, its own digest checked (files not checked)."""
    if not path.is_dir():
        raise ModelVerificationError(path, ["not a directory"])
    manifest_path = path / MANIFEST_NAME
    try:
        raw = orjson.loads(manifest_path.read_bytes())
    except FileNotFoundError:
        raise ModelVerificationError(path, [f"{MANIFEST_NAME} is missing"]) from None
    except orjson.JSONDecodeError as exc:
        raise ModelVerificationError(path, [f"{MANIFEST_NAME} is not valid JSON: {exc}"]) from None
    if not isinstance(raw, dict):
        raise ModelVerificationError(path, [f"{MANIFEST_NAME} is not a JSON object"])
    try:
        manifest = ArtifactManifest.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{MANIFEST_NAME}: {'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ModelVerificationError(path, problems) from None
    if manifest_digest(raw) != manifest.digest:
        raise ModelVerificationError(path, [f"{MANIFEST_NAME}: digest does not match its content"])
    return manifest


def verify_artifact(path: Path | str) -> ArtifactManifest:
    """Check the whole artifact; return its manifest or raise ModelVerificationError listing every problem."""
    root = Path(path)
    manifest = read_manifest(root)
    problems: list[str] = []
    if manifest.params_file not in manifest.files:
        problems.append(f"params_file {manifest.params_file!r} is not listed in files")
    present = {p.name: p for p in root.iterdir() if p.name != MANIFEST_NAME}
    for name, expected in sorted(manifest.files.items()):
        file = present.get(name)
        if file is None:
            problems.append(f"{name}: missing")
        elif not file.is_file():
            problems.append(f"{name}: not a regular file")
        elif sha256_bytes(file.read_bytes()) != expected:
            problems.append(f"{name}: sha256 mismatch")
    for name in sorted(set(present) - set(manifest.files)):
        problems.append(f"{name}: not listed in the manifest")
    if problems:
        raise ModelVerificationError(root, problems)
    return manifest


def read_verified_file(root: Path, manifest: ArtifactManifest, name: str) -> bytes:
    """The bytes of ``name``, hashed again as read, so what is parsed is exactly what was verified."""
    expected = manifest.files.get(name)
    if expected is None:
        raise ModelVerificationError(root, [f"{name}: not listed in the manifest"])
    try:
        data = (root / name).read_bytes()
    except OSError as exc:
        raise ModelVerificationError(root, [f"{name}: unreadable: {exc}"]) from None
    if sha256_bytes(data) != expected:
        raise ModelVerificationError(root, [f"{name}: sha256 mismatch"])
    return data
