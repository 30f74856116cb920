"""Parameter sets a walk-forward or a sweep tries: component parameters laid over a profile's recipe.

A parameter is named ``component.param`` (``trend_ema.fast``) and applies to that component of every
profile that has it; a name that no tried profile has is an error, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tradebot.models.recipes import DEFAULT_RECIPES
from tradebot.signals.params import EnsembleParams

ParamSet = tuple[tuple[str, Any], ...]  # sorted (component.param, value) pairs; () is the recipe as shipped


def param_label(params: ParamSet) -> str:
    return ",".join(f"{k}={v}" for k, v in params) or "default"


def recipes_with(params: ParamSet, profiles: Sequence[str]) -> dict[str, EnsembleParams]:
    """Every shipped recipe, those of ``profiles`` with ``params`` applied."""
    recipes = dict(DEFAULT_RECIPES)
    unknown = [p for p in profiles if p not in recipes]
    if unknown:
        raise ValueError(f"unknown profile {unknown[0]!r}; available: {', '.join(recipes)}")
    used: set[str] = set()
    by_component: dict[str, dict[str, Any]] = {}
    for key, value in params:
        component, _, name = key.partition(".")
        by_component.setdefault(component, {})[name] = value
    for profile in profiles:
        recipe = recipes[profile]
        names = {spec.name for spec in recipe.components}
        used.update(f"{c}.{k}" for c, own in by_component.items() if c in names for k in own)
        recipes[profile] = recipe.with_component_params(by_component)
    missing = [k for k, _ in params if k not in used]
    if missing:
        raise ValueError(f"parameter {missing[0]!r} names no component of profile(s) {', '.join(profiles)}")
    return recipes


def warmup_bars(profiles: Sequence[str], params: ParamSet = ()) -> int:
    """The longest declared lookback of the profiles' ensembles with ``params``: the bars a replay reads
    before the ensemble first speaks (it speaks on its ``warmup_bars``-th bar)."""
    from tradebot.signals.profiles import build_ensemble

    recipes = recipes_with(params, profiles)
    return max(build_ensemble(p, "WARMUP", recipes[p]).warmup_bars for p in profiles)


def parse_grid(items: Sequence[str]) -> list[ParamSet]:
    """``--param trend_ema.fast=8,10,12`` (repeated): the cartesian product of the values, in order."""
    axes: list[tuple[str, list[Any]]] = []
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or "." not in name or not values:
            raise ValueError(f"--param {item!r}: write component.param=value[,value...]")
        axes.append((name.strip(), [_value(v.strip()) for v in values.split(",")]))
    sets: list[ParamSet] = [()]
    for name, choices in axes:
        sets = [(*s, (name, v)) for s in sets for v in choices]
    return [tuple(sorted(s)) for s in sets]


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def as_mapping(params: ParamSet) -> Mapping[str, Any]:
    return dict(params)
