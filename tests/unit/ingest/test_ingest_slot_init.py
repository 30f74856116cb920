"""Slot-by-slot construction is offered only where it builds exactly what the class's ``__init__`` builds."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from tradebot.domain.bars import Bar
from tradebot.domain.instruments import Instrument
from tradebot.domain.signals import Signal
from tradebot.feeds.csv_bars import _bar_maker
from tradebot.ingest.slot_init import slot_setters
from tradebot.signals.ensemble import _signal_maker

TS = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)
BAR_FIELDS = ("symbol", "ts", "open", "high", "low", "close", "volume", "interval_s")


@dataclasses.dataclass(frozen=True, slots=True)
class Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("value must not be negative")


@dataclasses.dataclass(slots=True)
class Mutable:
    value: int


@dataclasses.dataclass(frozen=True)
class NoSlots:
    value: int


@dataclasses.dataclass(frozen=True, slots=True)
class WithInitVar:
    value: int
    scale: dataclasses.InitVar[int] = 1


@pytest.mark.parametrize("cls", [Checked, Mutable, NoSlots, WithInitVar])
def test_refused_where_init_does_more_or_the_class_is_not_frozen_and_slotted(cls: type) -> None:
    assert slot_setters(cls, ("value",)) is None


def test_refused_when_the_fields_are_not_the_expected_ones() -> None:
    assert slot_setters(Bar, BAR_FIELDS[:-1]) is None
    assert slot_setters(Bar, (*BAR_FIELDS[1:], "symbol")) is None
    instrument_fields = tuple(f.name for f in dataclasses.fields(Instrument))
    assert slot_setters(Instrument, instrument_fields) is None  # it has a __post_init__ that validates


def test_fast_bar_is_the_same_frozen_bar() -> None:
    make = _bar_maker()
    assert make is not Bar  # Bar qualifies today: frozen, slotted, no __post_init__
    fast = make("MES", TS, 1.5, 2.0, 1.0, 1.75, 10.0, 300)
    slow = Bar("MES", TS, 1.5, 2.0, 1.0, 1.75, 10.0, 300)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow) and type(fast) is Bar
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.close = 3.0  # type: ignore[misc]
    assert dataclasses.replace(fast, close=1.5).close == 1.5 and fast.end == slow.end


def test_fast_signal_is_the_same_frozen_signal() -> None:
    make = _signal_maker()
    assert make is not Signal
    args = ("MES", TS, -0.4, 0.7, "high_vol", 1700.25, 0.9, "aggressive", {"trend_ema": -0.4}, TS)
    fast, slow = make(*args), Signal(*args)
    assert fast == slow and repr(fast) == repr(slow) and type(fast) is Signal
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.direction = 1.0  # type: ignore[misc]
