"""The fake venue's credentials and the ``[broker.binance]`` table pointing at a running FakeBinance.

A module of its own (not conftest.py) so that test modules can import it: when the core tests and the
plugins' tests run in one pytest session, ``import conftest`` would find another folder's conftest.
"""

from __future__ import annotations

from typing import Any

from binance_fake_server import FakeBinance

KEY, SECRET = "fake-key", "fake-secret"
ENV = {"BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET}


def broker_table(fake: FakeBinance, **overrides: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "environment": "testnet",
        "symbols": ["BTCUSDT"],
        "leverage": 5,
        "recv_window": 5000,
        "reconnect_wait_s": 10.0,
        **fake.urls(),
    }
    table.update(overrides)
    return table
