"""Startup refuses a broker that does not declare what the strategy sends (exit 2, one line naming what is
missing and the broker); the same broker declaring it runs.

The brokers are installed plugins (a dist-info with a ``tradebot.brokers`` entry point on PYTHONPATH)
whose adapter is the simulated venue's, declaring fewer capabilities: a test double of a plugin."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from e2e_helpers import REPO, run_env, tradebot

pytestmark = pytest.mark.timeout(300)

PLUGIN = textwrap.dedent(
    """
    from collections.abc import Mapping
    from dataclasses import replace
    from typing import Any

    from tradebot.brokers.protocol import BrokerPlugin
    from tradebot.brokers.sim import SimBroker, SimConfig, SimVenue
    from tradebot.brokers.sim.execution import SIM_CAPABILITIES
    from tradebot.domain.clock import Clock
    from tradebot.domain.orders import OrderType


    def _plugin(name: str, **declared: Any) -> BrokerPlugin:
        caps = replace(SIM_CAPABILITIES, **declared)

        class Narrow(SimBroker):
            capabilities = caps

        Narrow.name = name

        def factory(config: Mapping[str, Any], clock: Clock) -> SimBroker:
            return Narrow(SimVenue(SimConfig.from_mapping(config), clock), clock)

        return BrokerPlugin(name=name, version="0.1", capabilities=caps, factory=factory)


    nobrackets = _plugin("nobrackets", brackets=False)
    nostops = _plugin("nostops", order_types=frozenset({OrderType.MARKET, OrderType.LIMIT}))
    declared = _plugin("declared")
    """
)


def _install(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    dist = site / "narrow_venues-0.1.dist-info"
    dist.mkdir(parents=True)
    (site / "narrow_venues.py").write_text(PLUGIN)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: narrow-venues\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[tradebot.brokers]\n"
        "nobrackets = narrow_venues:nobrackets\n"
        "nostops = narrow_venues:nostops\n"
        "declared = narrow_venues:declared\n"
    )
    return site


def _run(tmp_path: Path, broker: str, sample: Path) -> tuple[int, str, str, Path]:
    site = _install(tmp_path)
    text = (REPO / "config" / "tradebot.toml").read_text()
    text = text.replace('name = "sim"', f'name = "{broker}"', 1)
    text = text.replace(
        'constitution = "config/constitution.yaml"',
        f'constitution = "{REPO / "config" / "constitution.yaml"}"',
    )
    config = tmp_path / f"{broker}.toml"
    config.write_text(text)
    env = run_env(tmp_path / f"run-{broker}")
    env["PYTHONPATH"] = str(site)
    store = tmp_path / f"{broker}.db"
    result = tradebot(
        "run", "--mode", "live", "--config", str(config), "--store", str(store), "--data", str(sample),
        "--max-bars", "50", env=env,
    )  # fmt: skip
    return result.returncode, result.stdout, result.stderr, store


@pytest.mark.parametrize(
    ("broker", "named"),
    [("nobrackets", "brackets"), ("nostops", "order type STOP")],
)
def test_a_broker_without_what_the_strategy_sends_is_refused_at_startup(
    tmp_path: Path, sample: Path, broker: str, named: str
) -> None:
    code, _, stderr, store = _run(tmp_path, broker, sample)
    assert code == 2, stderr
    lines = [line for line in stderr.splitlines() if "UNSUPPORTED_ORDER_TYPE" in line]
    assert len(lines) == 1 and f"broker '{broker}'" in lines[0] and named in lines[0], stderr
    assert "Traceback" not in stderr
    assert not store.exists()  # refused before anything was written
    # `config check` builds what `run` builds: it refuses the same broker with the same line
    env = run_env(tmp_path / "check")
    env["PYTHONPATH"] = str(tmp_path / "site")
    config = tmp_path / f"{broker}.toml"
    check = tradebot("config", "check", "--mode", "live", "--config", str(config), env=env)
    assert check.returncode == 2, check.stdout
    assert [line for line in check.stderr.splitlines() if "UNSUPPORTED_ORDER_TYPE" in line] == lines


def test_the_same_venue_declaring_it_runs(tmp_path: Path, sample: Path) -> None:
    code, stdout, stderr, _ = _run(tmp_path, "declared", sample)
    assert code == 0, stderr
    assert re.search(r"^run: +mode live", stdout, re.M) and re.search(r"^bars: +50 processed", stdout, re.M)
