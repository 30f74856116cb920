"""Building a model artifact offline: run each profile's recipe over a bar file, fit its calibration,
write the params and the manifest. Only ``tradebot model build`` calls this; no run mode does."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import orjson

from tradebot.domain.bars import Bar
from tradebot.models.manifest import (
    FORMAT,
    MANIFEST_NAME,
    PARAMS_NAME,
    ArtifactManifest,
    manifest_digest,
    sha256_bytes,
)
from tradebot.models.recipes import DEFAULT_RECIPES
from tradebot.signals.params import Calibration, EnsembleParams, ModelParams
from tradebot.signals.profiles import build_ensemble
from tradebot.signals.summary import _quantile

CONFIDENCE_AT_HIGH = 0.9  # the evidence quantile q_high is calibrated to this confidence


def read_bars_csv(path: Path, symbol: str, interval_s: int = 60) -> list[Bar]:
    """Bars from a ``ts,open,high,low,close,volume`` file (``ts`` = bar open, UTC, ISO-8601 with Z)."""
    bars: list[Bar] = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        for line, row in enumerate(reader, start=2):
            try:
                bars.append(Bar(
                    symbol=symbol,
                    ts=datetime.fromisoformat(row["ts"]),
                    open=float(row["open"]),
                    high=float(row["high"]),
                    low=float(row["low"]),
                    close=float(row["close"]),
                    volume=float(row["volume"]),
                    interval_s=interval_s,
                ))
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                raise ValueError(f"{path}:{line}: bad bar row: {exc}") from exc
    return bars


def fit_calibration(evidence: Sequence[float], q_center: float, q_high: float) -> Calibration:
    """center = quantile(q_center); slope so that quantile(q_high) maps to CONFIDENCE_AT_HIGH."""
    if len(evidence) < 10:
        raise ValueError(f"calibration needs at least 10 evidence values, got {len(evidence)}")
    ordered = sorted(evidence)
    center = _quantile(ordered, q_center)
    high = _quantile(ordered, q_high)
    if high <= center:
        raise ValueError(f"evidence has no spread between q{q_center} ({center}) and q{q_high} ({high})")
    slope = math.log(CONFIDENCE_AT_HIGH / (1 - CONFIDENCE_AT_HIGH)) / (high - center)
    return Calibration(center=round(center, 6), slope=round(slope, 6), q_center=q_center, q_high=q_high)


def calibrate(recipe: EnsembleParams, bars: Sequence[Bar]) -> EnsembleParams:
    ensemble = build_ensemble(recipe.profile, bars[0].symbol, recipe)
    evidence = [r.evidence for r in map(ensemble.evaluate, bars) if r is not None and r.score != 0.0]
    cal = recipe.calibration
    fitted = fit_calibration(evidence, cal.q_center or 0.5, cal.q_high or 0.95)
    return recipe.model_copy(update={"calibration": fitted})


def build_artifact(
    bars: Sequence[Bar],
    out_dir: Path,
    *,
    version: str,
    created_at: datetime,
    source: str,
    recipes: Mapping[str, EnsembleParams] = DEFAULT_RECIPES,
) -> ArtifactManifest:
    """Write a new artifact into ``out_dir`` (which must not exist or be empty) and return its manifest."""
    if not bars:
        raise ValueError("no bars to build a model from")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty: a model artifact is never overwritten")
    params = ModelParams(profiles={name: calibrate(recipe, bars) for name, recipe in recipes.items()})
    return write_artifact(
        params, out_dir, version=version, created_at=created_at, source=source,
        start=bars[0].ts, end=bars[-1].end, rows=len(bars),
    )


def write_artifact(
    params: ModelParams,
    out_dir: Path,
    *,
    version: str,
    created_at: datetime,
    source: str,
    start: datetime,
    end: datetime,
    rows: int,
) -> ArtifactManifest:
    """Write ``params`` as a new artifact into ``out_dir`` (which must not exist or be empty), its manifest
    naming the data they were fitted or chosen on (``source``, ``start`` .. ``end``, ``rows``)."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty: a model artifact is never overwritten")
    params_bytes = orjson.dumps(
        params.model_dump(mode="json"), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    ) + b"\n"
    raw = {
        "format": FORMAT,
        "version": version,
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
        "training_data": {
            "source": source,
            "start": start.isoformat().replace("+00:00", "Z"),
            "end": end.isoformat().replace("+00:00", "Z"),
            "rows": rows,
        },
        "params_file": PARAMS_NAME,
        "files": {PARAMS_NAME: sha256_bytes(params_bytes)},
    }
    raw["digest"] = manifest_digest(raw)
    manifest = ArtifactManifest.model_validate(raw)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / PARAMS_NAME).write_bytes(params_bytes)
    (out_dir / MANIFEST_NAME).write_bytes(orjson.dumps(raw, option=orjson.OPT_INDENT_2) + b"\n")
    return manifest
