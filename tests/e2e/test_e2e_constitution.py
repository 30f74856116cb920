"""The bundled ES week under the MES constitution: blocks by reason code, and flat after 15:55 ET daily."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from e2e_helpers import tradebot

from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(300)
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def week_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    store = tmp_path_factory.mktemp("week") / "week.db"
    result = tradebot("run", "--mode", "observe", "--store", str(store))
    assert result.returncode == 0, result.stderr
    return store, result.stdout


def test_summary_lists_blocked_intents_by_reason_code(week_store: tuple[Path, str]) -> None:
    _, out = week_store
    assert "blocked MARKET_CLOSED_BLOCK:" in out
    assert "blocked TRADES_PER_DAY_BLOCK:" in out  # the constitution's 2 trades a day held
    assert "approved:" in out


def test_at_most_two_entries_per_day_and_one_contract(week_store: tuple[Path, str]) -> None:
    store, _ = week_store
    entries: dict[str, int] = {}
    position = Decimal(0)
    with StoreReader(store) as reader:
        for event in reader.iter_events(kinds=["order_submit", "order_filled"]):
            if event.kind == "order_submit" and not event.body["reduce_only"]:
                day = event.ts.astimezone(NEW_YORK).date().isoformat()
                entries[day] = entries.get(day, 0) + 1
                assert Decimal(event.body["quantity"]) <= 1
            elif event.kind == "order_filled":
                sign = 1 if event.body["side"] == "BUY" else -1
                position += sign * Decimal(event.body["quantity"])
                assert abs(position) <= 1
    assert entries and max(entries.values()) <= 2


def test_flat_after_the_flatten_deadline_every_day(week_store: tuple[Path, str]) -> None:
    store, _ = week_store
    position = Decimal(0)
    checked = 0
    with StoreReader(store) as reader:
        for event in reader.iter_events(kinds=["bar", "order_filled"]):
            if event.kind == "order_filled":
                sign = 1 if event.body["side"] == "BUY" else -1
                position += sign * Decimal(event.body["quantity"])
                continue
            bar_open = datetime.fromisoformat(event.body["ts"]).astimezone(NEW_YORK)
            # the flatten order goes out at the 15:55 close and fills at the next bar's open
            if time(15, 57) <= bar_open.time() <= time(23, 59):
                assert position == 0, f"position {position} open at {bar_open.isoformat()}"
                checked += 1
    assert checked > 100
