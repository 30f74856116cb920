"""Broker discovery through the ``tradebot.brokers`` entry-point group.

``load_plugin(name)`` imports only the named entry point, so an unused broker's client library is never
imported. ``list_plugins()`` imports each one to read its capabilities; a plugin that fails to import is
listed with its error instead of breaking the listing.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from tradebot.brokers.capabilities import Capabilities
from tradebot.brokers.protocol import BrokerPlugin

ENTRY_POINT_GROUP = "tradebot.brokers"


class PluginError(Exception):
    """A broker plugin is missing, fails to import, or is not a BrokerPlugin."""


@dataclass(frozen=True, slots=True)
class PluginInfo:
    name: str
    entry_point: str  # "module:attribute"
    distribution: str
    version: str
    capabilities: Capabilities | None = None
    description: str = ""
    client_libraries: tuple[str, ...] = ()
    error: str | None = None  # why it could not be loaded; None when it loaded

    @property
    def ok(self) -> bool:
        return self.error is None


def _entry_points() -> list[EntryPoint]:
    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def plugin_names() -> list[str]:
    """Installed plugin names, without importing any of them."""
    return [ep.name for ep in _entry_points()]


def _find(name: str) -> EntryPoint:
    found = [ep for ep in _entry_points() if ep.name == name]
    if not found:
        installed = ", ".join(plugin_names()) or "none"
        raise PluginError(f"no broker plugin named {name!r} is installed (installed: {installed})")
    if len(found) > 1:
        owners = ", ".join(_distribution(ep)[0] for ep in found)
        raise PluginError(f"broker plugin {name!r} is declared by more than one distribution: {owners}")
    return found[0]


def _distribution(ep: EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return "", ""
    return dist.metadata["Name"] or "", dist.version or ""


def _load(ep: EntryPoint) -> BrokerPlugin:
    try:
        obj = ep.load()
    except Exception as exc:  # a broken plugin must be reported with its cause, never crash the caller
        raise PluginError(f"broker plugin {ep.name!r} ({ep.value}) failed to import: {exc!r}") from exc
    if not isinstance(obj, BrokerPlugin):
        raise PluginError(
            f"broker plugin {ep.name!r} ({ep.value}) is a {type(obj).__name__}, not a BrokerPlugin"
        )
    if obj.name != ep.name:
        raise PluginError(f"entry point {ep.name!r} resolves to a plugin named {obj.name!r}")
    return obj


def load_plugin(name: str) -> BrokerPlugin:
    """Import and return the plugin registered under ``name`` (only that one)."""
    return _load(_find(name))


def plugin_info(ep: EntryPoint) -> PluginInfo:
    dist_name, dist_version = _distribution(ep)
    try:
        plugin = _load(ep)
    except PluginError as exc:
        return PluginInfo(ep.name, ep.value, dist_name, dist_version, error=str(exc))
    return PluginInfo(
        name=ep.name,
        entry_point=ep.value,
        distribution=dist_name,
        version=plugin.version or dist_version,
        capabilities=plugin.capabilities,
        description=plugin.description,
        client_libraries=plugin.client_libraries,
    )


def list_plugins() -> list[PluginInfo]:
    """Every installed broker plugin, sorted by name; broken ones carry ``error``."""
    return [plugin_info(ep) for ep in _entry_points()]
