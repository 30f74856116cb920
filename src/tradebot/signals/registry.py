"""Where component names come from: the built-ins here, anything else from ``tradebot.signals`` entry points.

A third-party distribution declares, in its pyproject::

    [project.entry-points."tradebot.signals"]
    my_component = "my_pkg.signals:make_component"   # (params: Mapping[str, Any]) -> SignalComponent

and a profile in the model artifact names it like a built-in (``{"name": "my_component", ...}``). A built-in
name cannot be shadowed by a plugin. An unknown name is an error listing what is available.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Final

from tradebot.signals.base import ComponentFactory, SignalComponent
from tradebot.signals.breakout import make_breakout
from tradebot.signals.mean_reversion import make_mean_reversion
from tradebot.signals.momentum import make_momentum
from tradebot.signals.trend import make_trend

ENTRY_POINT_GROUP: Final = "tradebot.signals"

BUILTIN_COMPONENTS: Final[Mapping[str, ComponentFactory]] = {
    "trend_ema": make_trend,
    "momentum": make_momentum,
    "mean_reversion": make_mean_reversion,
    "breakout": make_breakout,
}

EntryPointLister = Callable[[], Iterable[EntryPoint]]


class UnknownComponentError(ValueError):
    def __init__(self, name: str, available: Iterable[str]) -> None:
        self.name = name
        self.available = sorted(available)
        super().__init__(f"unknown signal component {name!r}; available: {', '.join(self.available)}")


class ComponentLoadError(ValueError):
    """An entry point was found but its factory failed or returned something that is not a component."""


def _installed() -> Iterable[EntryPoint]:
    return entry_points(group=ENTRY_POINT_GROUP)


def make_component(
    name: str, params: Mapping[str, Any], lister: EntryPointLister = _installed
) -> SignalComponent:
    """Build the component ``name`` with ``params`` (pydantic errors name the bad parameter)."""
    factory = BUILTIN_COMPONENTS.get(name)
    if factory is None:
        plugins = {ep.name: ep for ep in lister() if ep.name not in BUILTIN_COMPONENTS}
        entry = plugins.get(name)
        if entry is None:
            raise UnknownComponentError(name, [*BUILTIN_COMPONENTS, *plugins])
        try:
            factory = entry.load()
        except (ImportError, AttributeError) as exc:
            raise ComponentLoadError(
                f"signal component {name!r} ({entry.value}) failed to load: {exc}"
            ) from exc
    component = factory(params)
    if not isinstance(component, SignalComponent):
        raise ComponentLoadError(
            f"signal component {name!r} returned {type(component).__name__}, "
            "which lacks name/warmup_bars/update"
        )
    return component


def available_components(lister: EntryPointLister = _installed) -> list[str]:
    return sorted({*BUILTIN_COMPONENTS, *(ep.name for ep in lister())})
