"""What every signal component is: a streaming object fed one bar at a time.

A component keeps only the state its formula needs (a few floats, a bounded window), so each bar costs a
bounded amount of work however long the run. It says nothing (``None``) until it has seen ``warmup_bars``
bars. Third-party components registered under the ``tradebot.signals`` entry-point group implement the same
protocol: the entry point is a factory ``(params: Mapping[str, Any]) -> SignalComponent``.

A component may also offer ``update_vote(bar) -> float | None`` (``VotingComponent``): the same state change
as ``update`` and exactly ``update(bar).vote`` (or None), refused with the same ``ValueError``, without
building the reading. The ensemble calls it on every bar when it is there (the built-ins all have it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol, runtime_checkable

from tradebot.domain.bars import Bar


@dataclass(frozen=True, slots=True)
class ComponentReading:
    """``direction`` in [-1, 1] says which way (its sign) and ``strength`` in [0, 1] how strongly.

    The ensemble's vote of a component is ``direction * strength``. A purely descriptive component (the
    volatility regime) reports direction 0 and puts what it measured into ``values``.
    """

    direction: float
    strength: float
    values: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (-1.0 <= self.direction <= 1.0) or math.isnan(self.direction):
            raise ValueError(f"component direction must be in [-1, 1], got {self.direction!r}")
        if not (0.0 <= self.strength <= 1.0) or math.isnan(self.strength):
            raise ValueError(f"component strength must be in [0, 1], got {self.strength!r}")

    @property
    def vote(self) -> float:
        return self.direction * self.strength


@runtime_checkable
class SignalComponent(Protocol):
    """A streaming signal component. ``update`` returns ``None`` until warm."""

    name: str
    warmup_bars: int

    def update(self, bar: Bar) -> ComponentReading | None: ...


@runtime_checkable
class VotingComponent(SignalComponent, Protocol):
    """A component with the reading-free fast path ``update_vote`` (see the module docstring)."""

    def update_vote(self, bar: Bar) -> float | None: ...


ComponentFactory = Callable[[Mapping[str, Any]], SignalComponent]


def refuse_reading(direction: float, strength: float) -> NoReturn:
    """Raise the ``ValueError`` ``ComponentReading(direction, strength)`` raises (out of range or NaN)."""
    ComponentReading(direction, strength)
    raise AssertionError(f"direction {direction!r} and strength {strength!r} are a valid reading")


def clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def sign(value: float) -> float:
    return 1.0 if value > 0 else -1.0 if value < 0 else 0.0
