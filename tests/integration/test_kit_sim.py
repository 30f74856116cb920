"""The built-in ``sim`` venue runs the whole broker conformance kit, in memory and on a durable state file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradebot.brokers.sim import SimBroker, SimController, create_broker
from tradebot.domain.clock import WallClock
from tradebot.testing.conformance import *  # noqa: F403

MES = {"venue": "CME", "asset_class": "FUTURE", "tick_size": "0.25", "lot_step": "1", "min_qty": "1",
       "multiplier": "5"}


@dataclass
class SimStack:
    config: dict[str, Any]
    broker: SimBroker
    controller: SimController
    brokers: list[SimBroker] = field(default_factory=list)

    async def restart(self) -> SimBroker:
        """A new trading process: a new broker; with a state file, a new venue read back from it."""
        clock = WallClock()
        if self.config.get("state_path"):
            self.broker.venue.close()
            broker = create_broker(self.config, clock)
            self.controller.attach(broker.venue)
        else:
            broker = SimBroker(self.broker.venue, clock)
        await broker.connect()
        self.brokers.append(broker)
        return broker


@pytest.fixture(params=["memory", "durable"])
def sim_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    config: dict[str, Any] = {"instruments": {"MES": MES}, "fee_bps": 0.5, "slippage_bps": 1.0}
    if request.param == "durable":
        config["state_path"] = str(tmp_path / "sim_venue.db")
    return config


@pytest.fixture
async def sim_stack(sim_config: dict[str, Any]) -> AsyncIterator[SimStack]:
    broker = create_broker(sim_config, WallClock())
    await broker.connect()
    stack = SimStack(sim_config, broker, SimController(broker.venue), [broker])
    yield stack
    for each in stack.brokers:
        await each.close()
        each.venue.close()


@pytest.fixture
def broker(sim_stack: SimStack) -> SimBroker:
    return sim_stack.broker


@pytest.fixture
def venue(sim_stack: SimStack) -> SimController:
    return sim_stack.controller


@pytest.fixture
def broker_factory(sim_stack: SimStack) -> Any:
    return sim_stack.restart


@pytest.fixture
def conformance_symbol() -> str:
    return "MES"


@pytest.fixture
def conformance_price() -> Decimal:
    return Decimal("4500.25")
