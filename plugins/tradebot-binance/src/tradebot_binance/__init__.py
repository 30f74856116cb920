"""tradebot broker plugin for Binance USD-M perpetual futures (python-binance)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradebot.brokers.protocol import Broker, BrokerPlugin
from tradebot.domain.clock import Clock
from tradebot_binance.broker import CAPABILITIES, BinanceBroker
from tradebot_binance.config import BinanceConfig, load_config

__version__ = "0.1.0"


def create_broker(config: Mapping[str, Any], clock: Clock) -> Broker:
    """Entry-point factory: validate the ``[broker.binance]`` table (ValueError naming the key)."""
    return BinanceBroker(load_config(config), clock)


plugin = BrokerPlugin(
    name="binance",
    version=__version__,
    capabilities=CAPABILITIES,
    factory=create_broker,
    description="Binance USD-M perpetual futures: REST + kline/user-data websockets via python-binance",
    client_libraries=("python-binance",),
)

__all__ = ["BinanceBroker", "BinanceConfig", "create_broker", "load_config", "plugin"]
