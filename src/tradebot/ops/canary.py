"""Canary mode: announce it (CANARY_MODE_ACTIVE) at startup; the gate is ``risk.canary`` ("canary")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from loguru import logger

from tradebot.domain import reasons


def canary_mode_details(canary_symbols: Iterable[str]) -> dict[str, Any]:
    return {"code": reasons.CANARY_MODE_ACTIVE, "canary_symbols": sorted(set(canary_symbols))}


def log_canary_mode(canary_symbols: Iterable[str]) -> dict[str, Any]:
    """Log CANARY_MODE_ACTIVE with the symbols; returns the details for the store/manifest."""
    details = canary_mode_details(canary_symbols)
    logger.bind(code=reasons.CANARY_MODE_ACTIVE, canary_symbols=details["canary_symbols"]).warning(
        "canary mode: trading restricted to {s}", s=", ".join(details["canary_symbols"])
    )
    return details
