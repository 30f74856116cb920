"""tradebot broker plugin for Alpaca (US equities), built on alpaca-py.

The ``tradebot.brokers`` entry point ``alpaca`` names :data:`plugin`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradebot.brokers.protocol import Broker, BrokerPlugin
from tradebot.domain.clock import Clock
from tradebot_alpaca.broker import CAPABILITIES, AlpacaBroker
from tradebot_alpaca.config import AlpacaConfig, Credentials, load_config

__version__ = "0.1.0"


def create_broker(config: Mapping[str, Any], clock: Clock) -> Broker:
    """Validate the ``[broker.alpaca]`` table (unknown keys refused by name) and build the broker."""
    cfg, creds = load_config(config)
    return AlpacaBroker(cfg, creds, clock)


plugin = BrokerPlugin(
    name="alpaca",
    version=__version__,
    capabilities=CAPABILITIES,
    factory=create_broker,
    description="Alpaca US equities: paper and live, IEX or SIP bars, brackets/OTO/OCO, trade-updates stream",
    client_libraries=("alpaca-py",),
)

__all__ = ["AlpacaBroker", "AlpacaConfig", "Credentials", "create_broker", "load_config", "plugin"]
