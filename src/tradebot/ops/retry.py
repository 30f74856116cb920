"""Bounded retries for idempotent reads (broker reports, order lookups), never for a submit.

``retry_idempotent_read`` (tenacity) retries only failures classified ``ErrorAction.RETRY``, waits the
venue's retry-after when it gives one (exponential backoff with jitter otherwise), and stops at
``max_attempts`` or when the next wait would take the total past ``max_total_s``; the last error is
re-raised. With a ``BreakerBoard`` it asks the dependency's breaker before each attempt (an open circuit
raises ``CircuitOpenError`` at once), records every outcome and hands each state change of the breaker to
``on_transition`` (the alert rules). It refuses ``broker_submit``: whether an unacknowledged submit may be
sent again is decided by the order manager alone (``tradebot.oms.manager``), after a lookup by client
order id.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from loguru import logger
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from tradebot.domain.clock import Clock
from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory, ErrorClass, ErrorScope
from tradebot.ops.breakers import (
    BreakerBoard,
    BreakerDecision,
    BreakerTransition,
    Dependency,
    circuit_open_code,
)
from tradebot.ops.errors import ErrorClassifier, classify_exception

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 4
    max_total_s: float = 30.0
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    jitter_s: float = 0.25

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"retry max_attempts must be >= 1, got {self.max_attempts}")
        for name in ("max_total_s", "base_delay_s", "max_delay_s", "jitter_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"retry {name} must be >= 0, got {getattr(self, name)}")


class CircuitOpenError(BrokerError):
    """The dependency's breaker is open: the call was not made. ``decision`` carries CIRCUIT_OPEN_<DEP>
    and the last error; as a ``BrokerError`` its class is BROKER_STATE / DISABLE_PROVIDER (never retried)."""

    def __init__(self, decision: BreakerDecision) -> None:
        code = decision.code or circuit_open_code(decision.dependency)
        details: dict[str, Any] = dict(decision.details)
        if decision.last_error is not None:
            details["last_error_code"] = decision.last_error.code
        super().__init__(
            f"{code}: {decision.dependency} circuit is {decision.state.value}",
            ErrorClass(
                ErrorCategory.BROKER_STATE, ErrorScope.PROVIDER, ErrorAction.DISABLE_PROVIDER, code,
                details=details,
            ),
        )
        self.decision = decision


async def retry_idempotent_read(
    fn: Callable[[], Awaitable[T]],
    *,
    dependency: str,
    clock: Clock,
    breakers: BreakerBoard | None = None,
    policy: RetryPolicy | None = None,
    broker: ErrorClassifier | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
    context: dict[str, Any] | None = None,
    on_transition: Callable[[BreakerTransition], None] | None = None,
) -> T:
    """Call the idempotent read ``fn`` with bounded retries (see module doc). Returns its result or
    re-raises its last exception (``CircuitOpenError`` when the breaker refuses)."""
    if dependency == Dependency.BROKER_SUBMIT:
        raise ValueError(
            "retry_idempotent_read refuses broker_submit: only the order manager may send an order again"
        )
    policy = policy or RetryPolicy()
    rng = rng or random.Random()
    context = context or {}
    classes: dict[int, ErrorClass] = {}

    def error_class(exc: BaseException) -> ErrorClass:
        key = id(exc)
        if key not in classes:
            classes[key] = classify_exception(exc, broker=broker)
        return classes[key]

    def should_retry(exc: BaseException) -> bool:
        if isinstance(exc, CircuitOpenError):
            return False
        return error_class(exc).action is ErrorAction.RETRY

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if exc is not None:
            after = error_class(exc).retry_after_s
            if after is not None:
                return after
        backoff = min(policy.max_delay_s, policy.base_delay_s * (2.0 ** (state.attempt_number - 1)))
        return backoff + rng.uniform(0, policy.jitter_s)

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            return True
        spent = max(state.idle_for, state.seconds_since_start or 0.0)
        return spent + state.upcoming_sleep > policy.max_total_s

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        if exc is None:
            return
        ec = error_class(exc)
        logger.bind(code=ec.code, dependency=dependency, **context).warning(
            "{dep}: attempt {n} failed ({cat}), retrying in {s:.2f}s",
            dep=dependency,
            n=state.attempt_number,
            cat=ec.category.value,
            s=state.upcoming_sleep,
        )

    def transition(change: BreakerTransition | None) -> None:
        if change is not None and on_transition is not None:
            on_transition(change)

    async def attempt() -> T:
        if breakers is not None:
            decision = breakers.allow(dependency, clock.now())
            if not decision.allowed:
                raise CircuitOpenError(decision)
        try:
            result = await fn()
        except BaseException as exc:
            if breakers is not None and isinstance(exc, Exception):
                transition(breakers.record_failure(dependency, clock.now(), error_class(exc)))
            raise
        if breakers is not None:
            transition(breakers.record_success(dependency, clock.now()))
        return result

    retrying = AsyncRetrying(
        stop=stop,
        wait=wait,
        retry=retry_if_exception(should_retry),
        sleep=sleep,
        reraise=True,
        before_sleep=before_sleep,
    )
    result: T = await retrying(attempt)
    return result
