"""The built-in simulated venue ``sim``, registered through the ``tradebot.brokers`` entry point.

``plugin.factory(config, clock)`` validates the ``[broker.sim]`` table (``SimConfig``) and returns a
connected-on-demand ``SimBroker`` over a fresh ``SimVenue`` (durable when ``state_path`` is set; in a run
the venue is instead rebuilt from the event store, see ``projection``).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from typing import Any

from tradebot import __version__
from tradebot.brokers.protocol import BrokerPlugin
from tradebot.brokers.sim.config import SimConfig, SimConfigError
from tradebot.brokers.sim.controller import SimController
from tradebot.brokers.sim.execution import SIM_CAPABILITIES, SimBroker
from tradebot.brokers.sim.venue import SimVenue
from tradebot.domain.bars import Bar
from tradebot.domain.clock import Clock


def create_broker(
    config: Mapping[str, Any], clock: Clock, bar_source: AsyncIterable[Bar] | None = None
) -> SimBroker:
    """A SimBroker over a new SimVenue built from the ``[broker.sim]`` table (raises SimConfigError)."""
    return SimBroker(SimVenue(SimConfig.from_mapping(config), clock), clock, bar_source)


def _factory(config: Mapping[str, Any], clock: Clock) -> SimBroker:
    return create_broker(config, clock)


plugin = BrokerPlugin(
    name="sim",
    version=__version__,
    capabilities=SIM_CAPABILITIES,
    factory=_factory,
    description="Simulated venue: fills from the next bar (open/close/mid), slippage and fees in bps",
)

__all__ = [
    "SimBroker",
    "SimConfig",
    "SimConfigError",
    "SimController",
    "SimVenue",
    "create_broker",
    "plugin",
]
