"""Entry-point discovery: load one plugin only, list all, report broken ones instead of crashing."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from tradebot.brokers import registry
from tradebot.brokers.registry import PluginError, list_plugins, load_plugin
from tradebot.brokers.sim import SimBroker
from tradebot.domain.clock import WallClock


def test_sim_is_registered_and_builds_a_broker() -> None:
    plugin = load_plugin("sim")
    assert plugin.name == "sim" and plugin.capabilities.brackets and plugin.capabilities.reduce_only
    assert isinstance(plugin.factory({"fee_bps": 1}, WallClock()), SimBroker)
    info = {p.name: p for p in list_plugins()}["sim"]
    assert info.ok and info.distribution == "tradebot" and info.capabilities == plugin.capabilities


def test_unknown_plugin_names_what_is_installed() -> None:
    with pytest.raises(PluginError, match=r"no broker plugin named 'nope'.*sim"):
        load_plugin("nope")


def test_broken_plugin_is_listed_with_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = registry._entry_points()
    broken = EntryPoint("zz_broken", "tradebot_no_such_module:plugin", registry.ENTRY_POINT_GROUP)
    not_a_plugin = EntryPoint("zz_wrong", "tradebot.domain.reasons:APPROVED", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "_entry_points", lambda: [*real, broken, not_a_plugin])
    infos = {p.name: p for p in list_plugins()}
    assert infos["sim"].ok
    assert infos["zz_broken"].error is not None and "ModuleNotFoundError" in infos["zz_broken"].error
    assert infos["zz_wrong"].error is not None and "not a BrokerPlugin" in infos["zz_wrong"].error
    with pytest.raises(PluginError, match="failed to import"):
        load_plugin("zz_broken")


def test_loading_one_plugin_imports_no_other_plugin() -> None:
    code = (
        "import sys\n"
        "from tradebot.brokers.registry import load_plugin, plugin_names\n"
        "names = plugin_names()\n"
        "load_plugin('sim')\n"
        "others = [n for n in names if n != 'sim']\n"
        "loaded = [m for m in sys.modules if any(m.startswith('tradebot_' + n) for n in others)]\n"
        "print(len(others), loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]"), out
