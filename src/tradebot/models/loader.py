"""Loading ensemble parameters from a verified artifact. There is no write path here, by design:
live (and observe) runs only read a model; building one is the offline ``tradebot model build``."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import orjson
from pydantic import ValidationError

from tradebot.models.manifest import ArtifactManifest
from tradebot.models.verify import ModelVerificationError, read_verified_file, verify_artifact
from tradebot.signals.params import EnsembleParams, ModelParams
from tradebot.signals.profiles import UnknownProfileError


def default_model_path() -> Path:
    """The artifact shipped inside the tradebot package (``tradebot/data/model``)."""
    return Path(str(files("tradebot").joinpath("data", "model")))


def load_model(path: Path | str) -> tuple[ArtifactManifest, ModelParams]:
    """Verify the artifact, then parse its params file from the very bytes that were hashed."""
    root = Path(path)
    manifest = verify_artifact(root)
    data = read_verified_file(root, manifest, manifest.params_file)
    try:
        params = ModelParams.model_validate(orjson.loads(data))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        raise ModelVerificationError(root, [f"{manifest.params_file}: invalid parameters: {exc}"]) from None
    return manifest, params


def load_ensemble_params(path: Path | str, profile: str) -> EnsembleParams:
    _, params = load_model(path)
    try:
        return params.profiles[profile]
    except KeyError:
        raise UnknownProfileError(profile, sorted(params.profiles)) from None


@lru_cache(maxsize=1)
def _default_model() -> tuple[ArtifactManifest, ModelParams]:
    return load_model(default_model_path())


def default_manifest() -> ArtifactManifest:
    return _default_model()[0]


def default_ensemble_params(profile: str) -> EnsembleParams:
    _, params = _default_model()
    try:
        return params.profiles[profile]
    except KeyError:
        raise UnknownProfileError(profile, sorted(params.profiles)) from None
