"""Component names: built-ins, third-party entry points, and errors for what is not there."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from tradebot.domain.bars import Bar
from tradebot.signals import ENTRY_POINT_GROUP, EnsembleParams, UnknownComponentError, build_ensemble
from tradebot.signals.params import Calibration, ComponentSpec
from tradebot.signals.registry import ComponentLoadError, make_component
from tradebot.signals.trend import TrendEma


def plugin_lister(*entries: tuple[str, str]) -> object:
    def lister() -> list[EntryPoint]:
        return [EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in entries]

    return lister


def params_with(*specs: ComponentSpec) -> EnsembleParams:
    return EnsembleParams(profile="balanced", components=specs, calibration=Calibration(center=0.1, slope=10))


def test_third_party_component_loads_through_the_entry_point_group(es_bars: list[Bar]) -> None:
    lister = plugin_lister(("house_trend", "tradebot.signals.trend:make_trend"))
    params = params_with(ComponentSpec(name="house_trend", weight=1.0, params={"fast": 5, "slow": 20}))
    ensemble = build_ensemble("balanced", "MES", params, lister=lister)  # type: ignore[arg-type]
    component = ensemble.components[0][0]
    assert isinstance(component, TrendEma) and component.params.slow == 20
    signals = [s for s in map(ensemble.on_bar, es_bars[:600]) if s is not None]
    assert signals and all(set(s.components) == {"trend_ema"} for s in signals)


def test_unknown_component_lists_what_is_available() -> None:
    lister = plugin_lister(("house_trend", "tradebot.signals.trend:make_trend"))
    with pytest.raises(UnknownComponentError) as info:
        make_component("nope", {}, lister)  # type: ignore[arg-type]
    assert "nope" in str(info.value)
    assert {"trend_ema", "breakout", "house_trend"} <= set(info.value.available)


def test_a_plugin_cannot_shadow_a_builtin() -> None:
    lister = plugin_lister(("trend_ema", "json:dumps"))
    assert isinstance(make_component("trend_ema", {}, lister), TrendEma)  # type: ignore[arg-type]


def test_a_factory_that_returns_no_component_is_refused() -> None:
    lister = plugin_lister(("bogus", "builtins:dict"))
    with pytest.raises(ComponentLoadError, match="bogus"):
        make_component("bogus", {}, lister)  # type: ignore[arg-type]


def test_a_plugin_that_fails_to_import_is_refused() -> None:
    lister = plugin_lister(("ghost", "no_such_module_xyz:factory"))
    with pytest.raises(ComponentLoadError, match="ghost"):
        make_component("ghost", {}, lister)  # type: ignore[arg-type]


def test_bad_component_parameters_name_the_parameter() -> None:
    with pytest.raises(ValueError, match="slow"):
        make_component("trend_ema", {"fast": 5, "slow": "long"})
    with pytest.raises(ValueError, match="colour"):
        make_component("breakout", {"colour": "red"})


def test_ensemble_params_are_validated() -> None:
    spec = ComponentSpec(name="trend_ema", weight=1.0)
    with pytest.raises(ValueError, match="unique"):
        params_with(spec, spec)
    with pytest.raises(ValueError, match="missing"):
        EnsembleParams(profile="x", components=(spec,), dampening={"low_vol": 0.1},
                       calibration=Calibration(center=0.1, slope=1))
    with pytest.raises(ValueError, match="weight"):
        ComponentSpec(name="trend_ema", weight=0)
    with pytest.raises(ValueError, match="profile"):
        build_ensemble("aggressive", "MES", params_with(spec))
