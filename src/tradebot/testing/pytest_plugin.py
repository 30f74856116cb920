"""pytest plugin of the conformance kit (registered as a pytest11 entry point, so it is always loaded).

It only registers the ``conformance`` marker and the kit's DEFAULT fixtures; a plugin's own ``conftest.py``
or test module overrides any of them. What a plugin's tests must provide:

- ``broker``: a connected Broker (an async fixture that closes it afterwards);
- ``venue``: a ``tradebot.testing.controller.VenueController`` driving the venue behind that broker;
- ``conformance_symbol``: the symbol the cases trade;
- ``broker_factory`` (for C13): an async callable returning a NEW connected broker on the same venue, as
  after a process restart (close it in your fixture's teardown).

Optional overrides: ``conformance_price`` (a realistic price, default 100), ``conformance_qty`` (default:
the instrument's smallest valid quantity), ``conformance_timeout`` (seconds per wait, default 5),
``conformance_bar_size_s`` (default 60).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradebot.testing.kit import KitSettings


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance(case): a numbered broker conformance case (C01, ...)")


@pytest.fixture
def conformance_price() -> Decimal:
    return Decimal(100)


@pytest.fixture
def conformance_qty() -> Decimal | None:
    return None


@pytest.fixture
def conformance_timeout() -> float:
    return 5.0


@pytest.fixture
def conformance_bar_size_s() -> int:
    return 60


@pytest.fixture
def broker_factory() -> None:
    """Default: none. C13 fails and says how to provide one."""
    return None


@pytest.fixture
def conformance_settings(
    conformance_symbol: str,
    conformance_price: Decimal,
    conformance_qty: Decimal | None,
    conformance_timeout: float,
    conformance_bar_size_s: int,
) -> KitSettings:
    return KitSettings(
        symbol=conformance_symbol,
        price=Decimal(conformance_price),
        qty=None if conformance_qty is None else Decimal(conformance_qty),
        timeout=conformance_timeout,
        bar_size_s=conformance_bar_size_s,
    )
