"""Versioned, verified model artifacts holding the ensemble's parameters.

    verify_artifact(path) -> ArtifactManifest        # ModelVerificationError (MODEL_VERIFICATION_FAILED)
    load_ensemble_params(path, profile) -> EnsembleParams
    default_model_path() -> Path                     # the artifact shipped in tradebot/data/model
"""

from tradebot.models.loader import (
    default_ensemble_params,
    default_manifest,
    default_model_path,
    load_ensemble_params,
    load_model,
)
from tradebot.models.manifest import ArtifactManifest, TrainingRange
from tradebot.models.verify import ModelVerificationError, verify_artifact

__all__ = [
    "ArtifactManifest",
    "ModelVerificationError",
    "TrainingRange",
    "default_ensemble_params",
    "default_manifest",
    "default_model_path",
    "load_ensemble_params",
    "load_model",
    "verify_artifact",
]
