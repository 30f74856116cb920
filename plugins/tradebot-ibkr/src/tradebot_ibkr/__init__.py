"""tradebot broker plugin for Interactive Brokers (TWS / IB Gateway), built on ib_async.

The entry point ``tradebot.brokers: ibkr = tradebot_ibkr:plugin`` resolves to ``plugin`` below.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from tradebot.brokers.capabilities import Capabilities, PositionMode
from tradebot.brokers.protocol import Broker, BrokerPlugin
from tradebot.domain.clock import Clock
from tradebot.domain.orders import OrderType, TimeInForce
from tradebot_ibkr.broker import IbkrBroker
from tradebot_ibkr.config import IbkrConfig, load_config

try:
    __version__ = version("tradebot-ibkr")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

CAPABILITIES = Capabilities(
    order_types=frozenset(
        {OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP}
    ),
    time_in_force=frozenset({TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC}),
    brackets=True,  # parent + target + stop, children in one OCA group, last child transmits
    oco=True,
    oto=True,
    reduce_only=False,  # IB has no reduce-only flag for futures: the pipeline enforces reduce-only
    native_cancel_all=True,  # reqGlobalCancel
    position_modes=frozenset({PositionMode.ONE_WAY}),
    fractional_qty=False,
    leverage=False,
    streaming_bars=True,  # 5-second real-time bars, aggregated
)


def create_broker(config: Mapping[str, Any], clock: Clock) -> Broker:
    """Build an IbkrBroker from the ``[broker.ibkr]`` table (``ValueError`` naming any bad key)."""
    return IbkrBroker(load_config(config), clock, CAPABILITIES)


plugin = BrokerPlugin(
    name="ibkr",
    version=__version__,
    capabilities=CAPABILITIES,
    factory=create_broker,
    description="Interactive Brokers via TWS / IB Gateway (ib_async): CME futures such as MES",
    client_libraries=("ib_async",),
)

__all__ = ["CAPABILITIES", "IbkrBroker", "IbkrConfig", "create_broker", "load_config", "plugin"]
