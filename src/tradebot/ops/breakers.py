"""Dependency circuit breakers: one per external dependency, distinct from risk breakers.

Each breaker counts failures in rolling windows. Defaults: 3 failures within 60 s open it for 60 s;
10 failures within 10 min open it for 900 s (escalation wins). After the open period the breaker is
HALF_OPEN: ``allow`` grants exactly one probe; the probe's success closes it, its failure reopens it for
the same period. While OPEN (or while a probe is out) ``allow`` blocks with ``CIRCUIT_OPEN_<DEP>`` and
the last error attached. Time comes in as ``now`` arguments: no wall clock here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any

from tradebot.domain.errors import ErrorClass
from tradebot.risk.verdict import Verdict


class Dependency(StrEnum):
    BROKER_SUBMIT = "broker_submit"
    BROKER_POSITIONS = "broker_positions"
    BROKER_OPEN_ORDERS = "broker_open_orders"
    DATA_PRIMARY = "data_primary"
    QUOTES = "quotes"
    CALENDAR = "calendar"


DEPENDENCIES: tuple[str, ...] = tuple(d.value for d in Dependency)


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    HALF_OPEN = "HALF_OPEN"
    OPEN = "OPEN"


class BreakerLevel(IntEnum):
    """The numeric value of each state for the metrics gauge."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


def circuit_open_code(dependency: str) -> str:
    return f"CIRCUIT_OPEN_{dependency.upper()}"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    short_window_s: float = 60.0
    short_threshold: int = 3
    short_open_s: float = 60.0
    long_window_s: float = 600.0
    long_threshold: int = 10
    long_open_s: float = 900.0
    probe_timeout_s: float = 60.0  # a probe with no recorded outcome after this long is given up on

    def __post_init__(self) -> None:
        for name in ("short_window_s", "short_open_s", "long_window_s", "long_open_s", "probe_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"breaker policy {name} must be > 0, got {getattr(self, name)}")
        for name in ("short_threshold", "long_threshold"):
            if getattr(self, name) < 1:
                raise ValueError(f"breaker policy {name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class BreakerDecision:
    """``allow``'s answer. ``probe`` is True when this call is the single half-open probe."""

    dependency: str
    allowed: bool
    state: BreakerState
    code: str | None = None
    open_until: datetime | None = None
    last_error: ErrorClass | None = None
    probe: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_verdict(self, gate: str | None = None) -> Verdict:
        name = gate or f"breaker:{self.dependency}"
        if self.allowed:
            return Verdict.passed(name, **self.details)
        return Verdict.blocked(name, self.code or circuit_open_code(self.dependency), **self.details)


@dataclass(frozen=True, slots=True)
class BreakerTransition:
    """A state change, for alerts, logs and the store. ``trigger``: short_window, long_window,
    probe_failed, probe_succeeded."""

    dependency: str
    from_state: BreakerState
    to_state: BreakerState
    at: datetime
    trigger: str
    open_until: datetime | None = None
    failures_short: int = 0
    failures_long: int = 0
    last_error: ErrorClass | None = None

    @property
    def code(self) -> str:
        return circuit_open_code(self.dependency)


class CircuitBreaker:
    def __init__(self, dependency: str, policy: BreakerPolicy | None = None) -> None:
        self.dependency = dependency
        self.policy = policy or BreakerPolicy()
        self._failures: deque[datetime] = deque()
        self._opened_until: datetime | None = None
        self._open_s: float = 0.0
        self._probe_at: datetime | None = None
        self.last_error: ErrorClass | None = None
        self.open_count = 0

    @property
    def code(self) -> str:
        return circuit_open_code(self.dependency)

    @property
    def opened_until(self) -> datetime | None:
        return self._opened_until

    def state(self, now: datetime) -> BreakerState:
        if self._opened_until is None:
            return BreakerState.CLOSED
        if now < self._opened_until:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def failure_counts(self, now: datetime) -> tuple[int, int]:
        """Failures within the short and the long window ending at ``now``."""
        self._prune(now)
        short_start = now - timedelta(seconds=self.policy.short_window_s)
        return sum(1 for t in self._failures if t > short_start), len(self._failures)

    def allow(self, now: datetime) -> BreakerDecision:
        state = self.state(now)
        if state is BreakerState.CLOSED:
            return BreakerDecision(self.dependency, True, state, last_error=self.last_error)
        if state is BreakerState.HALF_OPEN:
            probe_stale = self._probe_at is not None and now - self._probe_at >= timedelta(
                seconds=self.policy.probe_timeout_s
            )
            if self._probe_at is None or probe_stale:
                self._probe_at = now
                return BreakerDecision(
                    self.dependency,
                    True,
                    state,
                    last_error=self.last_error,
                    probe=True,
                    details={"dependency": self.dependency, "probe": True},
                )
        return BreakerDecision(
            self.dependency,
            False,
            state,
            self.code,
            self._opened_until,
            self.last_error,
            details=self._block_details(now, state),
        )

    def record_success(self, now: datetime) -> BreakerTransition | None:
        state = self.state(now)
        if state is BreakerState.HALF_OPEN:
            self._opened_until = None
            self._probe_at = None
            short, long = self.failure_counts(now)
            return BreakerTransition(
                self.dependency,
                state,
                BreakerState.CLOSED,
                now,
                "probe_succeeded",
                failures_short=short,
                failures_long=long,
                last_error=self.last_error,
            )
        return None

    def record_failure(self, now: datetime, error: ErrorClass | None = None) -> BreakerTransition | None:
        state = self.state(now)
        self._failures.append(now)
        if error is not None:
            self.last_error = error
        short, long = self.failure_counts(now)
        if state is BreakerState.OPEN:
            return None  # a call that started before the breaker opened: counted, the open period stands
        if state is BreakerState.HALF_OPEN:
            return self._open(
                now, state, max(self._open_s, self.policy.short_open_s), "probe_failed", short, long
            )
        if long >= self.policy.long_threshold:
            return self._open(now, state, self.policy.long_open_s, "long_window", short, long)
        if short >= self.policy.short_threshold:
            return self._open(now, state, self.policy.short_open_s, "short_window", short, long)
        return None

    def _open(
        self, now: datetime, from_state: BreakerState, seconds: float, trigger: str, short: int, long: int
    ) -> BreakerTransition:
        self._open_s = seconds
        self._opened_until = now + timedelta(seconds=seconds)
        self._probe_at = None
        self.open_count += 1
        return BreakerTransition(
            self.dependency,
            from_state,
            BreakerState.OPEN,
            now,
            trigger,
            self._opened_until,
            short,
            long,
            self.last_error,
        )

    def _prune(self, now: datetime) -> None:
        start = now - timedelta(seconds=self.policy.long_window_s)
        while self._failures and self._failures[0] <= start:
            self._failures.popleft()

    def _block_details(self, now: datetime, state: BreakerState) -> dict[str, Any]:
        short, long = self.failure_counts(now)
        details: dict[str, Any] = {
            "dependency": self.dependency,
            "state": state.value,
            "open_until": self._opened_until.isoformat() if self._opened_until else None,
            "failures_short_window": short,
            "failures_long_window": long,
        }
        if self.last_error is not None:
            details["last_error_code"] = self.last_error.code
            details["last_error_category"] = self.last_error.category.value
            details["last_error"] = dict(self.last_error.details)
        return details


class BreakerBoard:
    """The breakers of every dependency, by name. Unknown names are a programming error (KeyError)."""

    def __init__(
        self, dependencies: Iterable[str] = DEPENDENCIES, policy: BreakerPolicy | None = None
    ) -> None:
        self._breakers = {dep: CircuitBreaker(dep, policy) for dep in dependencies}

    def __getitem__(self, dependency: str) -> CircuitBreaker:
        try:
            return self._breakers[dependency]
        except KeyError:
            raise KeyError(f"no circuit breaker for dependency {dependency!r}") from None

    def __iter__(self) -> Any:
        return iter(self._breakers.values())

    def allow(self, dependency: str, now: datetime) -> BreakerDecision:
        return self[dependency].allow(now)

    def record_success(self, dependency: str, now: datetime) -> BreakerTransition | None:
        return self[dependency].record_success(now)

    def record_failure(
        self, dependency: str, now: datetime, error: ErrorClass | None = None
    ) -> BreakerTransition | None:
        return self[dependency].record_failure(now, error)

    def states(self, now: datetime) -> dict[str, BreakerState]:
        """Every dependency's state, for metrics and status."""
        return {dep: b.state(now) for dep, b in self._breakers.items()}

    def blocking(self, now: datetime, dependencies: Iterable[str]) -> list[BreakerDecision]:
        """The decisions of those ``dependencies`` whose breakers are open (does not take probes)."""
        out = []
        for dep in dependencies:
            breaker = self[dep]
            if breaker.state(now) is BreakerState.OPEN:
                out.append(breaker.allow(now))
        return out
