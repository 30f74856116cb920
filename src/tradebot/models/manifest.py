"""The manifest of a model artifact directory and how its integrity is computed.

An artifact is a flat directory::

    manifest.json            this manifest
    ensemble_params.json     ModelParams: EnsembleParams per profile (name given by ``params_file``)

``files`` maps every other file in the directory to its sha256; ``digest`` is the sha256 of the manifest's
own JSON object without the ``digest`` key, serialized with sorted keys (orjson), so a changed byte
anywhere — in a params file or in the manifest itself — fails verification.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Final, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

MANIFEST_NAME: Final = "manifest.json"
PARAMS_NAME: Final = "ensemble_params.json"
FORMAT: Final = "tradebot-model/1"


class TrainingRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    start: datetime
    end: datetime
    rows: int = Field(ge=0)


class ArtifactManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["tradebot-model/1"]
    version: str = Field(min_length=1)
    created_at: datetime
    training_data: TrainingRange
    params_file: str = PARAMS_NAME
    files: dict[str, str]
    digest: str

    @field_validator("files")
    @classmethod
    def _flat_names_and_hex(cls, value: dict[str, str]) -> dict[str, str]:
        for name, sha in value.items():
            if not name or "/" in name or "\\" in name or name in (".", "..", MANIFEST_NAME):
                raise ValueError(f"files: {name!r} is not a plain file name of the artifact")
            if len(sha) != 64 or any(ch not in "0123456789abcdef" for ch in sha):
                raise ValueError(f"files[{name}]: not a lowercase sha256 hex digest")
        return value


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_digest(raw: dict[str, Any]) -> str:
    body = {k: v for k, v in raw.items() if k != "digest"}
    return sha256_bytes(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
