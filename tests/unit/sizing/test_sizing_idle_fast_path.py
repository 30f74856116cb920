"""The engine sizer's idle fast path: a signal that leaves the position as it is gets no intents and the
very record ``size`` would have written (same keys, same order, same values); everything else is sized."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.domain.orders import OrderIntent
from tradebot.domain.signals import Signal
from tradebot.sizing import (
    AiSizer,
    AiSizerParams,
    EngineSizer,
    FixedFractionParams,
    FixedFractionSizer,
    SizerMode,
    SizingContext,
    SizingResult,
)
from tradebot.sizing.context import IdleRecordSizer, Sizer

BAR_TS = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Request:
    signal: Signal
    instrument: Instrument
    position_qty: Decimal
    equity: Decimal
    now: datetime


@pytest.fixture
def mes() -> Instrument:
    return Instrument("MES", "CME", AssetClass.FUTURE, "USD", Decimal("0.25"), Decimal(1), Decimal(1),
                      multiplier=Decimal(5), calendar="CME")


def signal(direction: float) -> Signal:
    return Signal("MES", BAR_TS + timedelta(minutes=1), direction, 0.8, "normal_vol", 1700.25, atr=0.9,
                  profile="balanced", components={"trend_ema": direction}, bar_ts=BAR_TS)


class SizeOnly:
    """A sizer without ``idle_record``: the engine sizer must still call ``size`` for everything."""

    def __init__(self, inner: Sizer) -> None:
        self.inner = inner
        self.calls = 0

    def size(self, signal: Signal, ctx: SizingContext) -> SizingResult:
        self.calls += 1
        return self.inner.size(signal, ctx)


def sizers() -> dict[str, Sizer]:
    def fixed() -> FixedFractionSizer:
        return FixedFractionSizer(FixedFractionParams(fraction=Decimal("0.01")))

    return {
        "fixed": fixed(),
        "ai_shadow": AiSizer(fixed(), AiSizerParams(mode=SizerMode.SHADOW)),
        "ai_live": AiSizer(fixed(), AiSizerParams(mode=SizerMode.LIVE)),
        "ai_over_size_only": AiSizer(SizeOnly(fixed()), AiSizerParams(mode=SizerMode.LIVE)),
    }


CASES = [  # direction, position, action
    (0.6, "1", "hold"), (-0.6, "-2", "hold"), (0.0, "0", "none"), (0.0, "-1", "none"), (0.6, "1.0", "hold"),
    (0.6, "0", "entry"), (-0.6, "0", "entry"), (-0.6, "1", "exit"), (0.6, "-3", "exit"),
]


@pytest.mark.parametrize("name", ["fixed", "ai_shadow", "ai_live", "ai_over_size_only"])
@pytest.mark.parametrize(("direction", "position", "action"), CASES)
def test_engine_sizer_equals_size(mes: Instrument, name: str, direction: float, position: str,
                                  action: str) -> None:
    sizer = sizers()[name]
    request = Request(signal(direction), mes, Decimal(position), Decimal(25000), BAR_TS)
    intents, record = EngineSizer(sizer, max_qty=Decimal(5))(request)
    ctx = SizingContext(request.equity, mes, request.position_qty, BAR_TS, max_qty=Decimal(5))
    expected = sizers()[name].size(request.signal, ctx)
    assert list(record.items()) == list(expected.record.items())  # same keys in the same order
    assert record["action"] == action and type(record["action"]) is str
    assert record["position_qty"] == position  # str() of the Decimal given, "1.0" stays "1.0"
    assert intents == ([expected.intent] if expected.intent is not None else [])
    assert all(isinstance(i, OrderIntent) for i in intents)
    assert (intents == []) is (action in ("hold", "none") or expected.intent is None)


def test_idle_record_is_none_unless_idle(mes: Instrument) -> None:
    sizer = FixedFractionSizer()
    assert isinstance(sizer, IdleRecordSizer)
    assert sizer.idle_record(signal(0.5), Decimal(0)) is None  # entry
    assert sizer.idle_record(signal(-0.5), Decimal(1)) is None  # exit
    hold = sizer.idle_record(signal(0.5), Decimal(1))
    assert hold is not None and hold["action"] == "hold" and hold["sizer"] == "fixed_fraction"
    assert sizer.idle_record(signal(0.5), Decimal(1)) is not hold  # a new dict every time


def test_a_sizer_without_idle_record_is_always_called(mes: Instrument) -> None:
    inner = SizeOnly(FixedFractionSizer())
    engine = EngineSizer(inner)
    for direction, position in ((0.5, "1"), (0.0, "0"), (0.5, "0")):
        engine(Request(signal(direction), mes, Decimal(position), Decimal(10000), BAR_TS))
    assert inner.calls == 3


def test_replacing_the_sizer_replaces_the_fast_path(mes: Instrument) -> None:
    engine = EngineSizer(FixedFractionSizer())
    inner = SizeOnly(FixedFractionSizer())
    engine.sizer = inner
    _, record = engine(Request(signal(0.5), mes, Decimal(1), Decimal(10000), BAR_TS))
    assert inner.calls == 1 and record["action"] == "hold"
