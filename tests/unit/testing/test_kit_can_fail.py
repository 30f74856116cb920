"""The conformance kit fails broken adapters on the named cases (and still passes the cases they keep)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

HERE = Path(__file__).parent

CONFTEST = '''
import pytest_asyncio, pytest
from decimal import Decimal
from tradebot.brokers.sim import SimController, SimVenue, SimConfig
from tradebot.domain.clock import WallClock
from kit_broken_adapters import BROKEN

ADAPTER = BROKEN["{adapter}"]

@pytest.fixture
def sim_venue():
    venue = SimVenue(SimConfig(), WallClock())
    yield venue
    venue.close()

@pytest_asyncio.fixture
async def broker(sim_venue):
    broker = ADAPTER(sim_venue, WallClock())
    await broker.connect()
    yield broker
    await broker.close()

@pytest.fixture
def venue(sim_venue):
    return SimController(sim_venue)

@pytest.fixture
def broker_factory(sim_venue):
    async def make():
        broker = ADAPTER(sim_venue, WallClock())
        await broker.connect()
        return broker
    return make

@pytest.fixture
def conformance_symbol():
    return "XYZ"

@pytest.fixture
def conformance_timeout():
    return 0.3
'''


def _run(pytester: pytest.Pytester, adapter: str, cases: str) -> tuple[dict[str, str], set[str]]:
    """Run the kit's ``cases`` against ``adapter``: {failed case: failure text}, {passed cases}."""
    pytester.syspathinsert(HERE)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest(CONFTEST.format(adapter=adapter))
    pytester.makepyfile(test_broken_kit="from tradebot.testing.conformance import *  # noqa: F403\n")
    result = pytester.inline_run("-k", cases, "-p", "no:cacheprovider")
    passed, skipped, failed = result.listoutcomes()
    assert not skipped
    return ({_case(r.nodeid): str(r.longrepr) for r in failed}, {_case(r.nodeid) for r in passed})


def _case(nodeid: str) -> str:
    return nodeid.split("::")[-1].split("_")[1]


@pytest.mark.timeout(120)
def test_kit_fails_an_adapter_that_emits_a_fill_twice(pytester: pytest.Pytester) -> None:
    failed, passed = _run(pytester, "double_fill", "C01 or C04 or C05 or C11 or C14")
    assert set(failed) == {"C04", "C11", "C14"}
    assert passed == {"C01", "C05"}


@pytest.mark.timeout(120)
def test_kit_fails_an_adapter_that_loses_the_client_order_id(pytester: pytest.Pytester) -> None:
    failed, passed = _run(pytester, "lost_client_id", "C01 or C04 or C05 or C06 or C15")
    assert set(failed) == {"C04", "C05", "C06", "C15"}  # C15 at its barrier order, after the fault checks
    assert all("timed out" in text and "accepted or rejected for kC" in text for text in failed.values())
    assert passed == {"C01"}


@pytest.mark.timeout(120)
def test_kit_fails_an_adapter_that_ignores_reduce_only(pytester: pytest.Pytester) -> None:
    failed, passed = _run(pytester, "ignores_reduce_only", "C04 or C09")
    assert set(failed) == {"C09"}
    assert "a reduce-only BUY added to a long position" in failed["C09"]
    assert passed == {"C04"}


@pytest.mark.timeout(120)
def test_kit_fails_an_adapter_that_accepts_adopted_orders_again(pytester: pytest.Pytester) -> None:
    failed, passed = _run(pytester, "accepts_adopted_again", "C08 or C13 or C18")
    assert set(failed) == {"C13", "C18"}  # C18 by the open-orders report (its order_status variant passes)
    assert all("order_accepted emitted again after the restart" in text for text in failed.values())
    assert passed == {"C08", "C18"}


@pytest.mark.timeout(120)
def test_kit_fails_an_adapter_that_keeps_an_order_that_never_reached_the_venue(
    pytester: pytest.Pytester,
) -> None:
    failed, passed = _run(pytester, "phantom_after_fault", "C05 or C15 or C16 or C17")
    assert set(failed) == {"C15", "C16", "C17"}
    assert all("which never reached the venue" in text for text in failed.values())
    assert passed == {"C05"}
