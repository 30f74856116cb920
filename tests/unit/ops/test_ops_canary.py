"""Canary mode announcement: CANARY_MODE_ACTIVE with the symbols, logged and returned for the store."""

from __future__ import annotations

import io

from tradebot.ops.canary import log_canary_mode
from tradebot.ops.logging import setup_logging


def test_log_canary_mode() -> None:
    out = io.StringIO()
    handle = setup_logging(stream=out)
    try:
        details = log_canary_mode(["SPY", "MES", "SPY"])
    finally:
        handle.close()
    assert details == {"code": "CANARY_MODE_ACTIVE", "canary_symbols": ["MES", "SPY"]}
    assert "[CANARY_MODE_ACTIVE] canary mode: trading restricted to MES, SPY" in out.getvalue()
