"""The trading state machine's values."""

from __future__ import annotations

from enum import StrEnum


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"  # everything the gates allow
    REDUCING = "REDUCING"  # only exposure-reducing orders
    HALTED = "HALTED"  # nothing but cancels and an operator's flatten


class Mode(StrEnum):
    OBSERVE = "observe"
    LIVE = "live"
    REPLAY = "replay"
