"""The broker protocol, capability declaration and entry-point registry.

Plugins import from here (and from ``tradebot.domain``), never from the pipeline.
"""

from tradebot.brokers.capabilities import Capabilities, PositionMode
from tradebot.brokers.protocol import Broker, BrokerPlugin

__all__ = ["Broker", "BrokerPlugin", "Capabilities", "PositionMode"]
