"""Bounded retries for idempotent reads, and the decision whether an unacknowledged submit may be resent.

``retry_idempotent_read`` (tenacity) retries only failures classified ``ErrorAction.RETRY``, waits the
venue's retry-after when it gives one (exponential backoff with jitter otherwise), and stops at
``max_attempts`` or when the next wait would take the total past ``max_total_s``; the last error is
re-raised. With a ``BreakerBoard`` it asks the dependency's breaker before each attempt (an open circuit
raises ``CircuitOpenError`` at once) and records every outcome. It refuses ``broker_submit``.

A submit is never retried blindly: ``decide_resubmit`` is the pure rule for an order whose submit failed
or whose fate is unknown, from the ledger's status and a broker lookup by client order id.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from loguru import logger
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from tradebot.domain import reasons
from tradebot.domain.clock import Clock
from tradebot.domain.errors import ErrorAction, ErrorClass
from tradebot.domain.events import OrderSnapshot, OrderStatus
from tradebot.ops.breakers import BreakerBoard, BreakerDecision, Dependency
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


class CircuitOpenError(Exception):
    """The dependency's breaker is open; ``decision`` carries CIRCUIT_OPEN_<DEP> and the last error."""

    def __init__(self, decision: BreakerDecision) -> None:
        super().__init__(f"{decision.code}: {decision.dependency} circuit is {decision.state.value}")
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
) -> T:
    """Call the idempotent read ``fn`` with bounded retries (see module doc). Returns its result or
    re-raises its last exception (``CircuitOpenError`` when the breaker refuses)."""
    if dependency == Dependency.BROKER_SUBMIT:
        raise ValueError(
            "retry_idempotent_read refuses broker_submit: a submit is resent only via decide_resubmit"
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

    async def attempt() -> T:
        if breakers is not None:
            decision = breakers.allow(dependency, clock.now())
            if not decision.allowed:
                raise CircuitOpenError(decision)
        try:
            result = await fn()
        except BaseException as exc:
            if breakers is not None and isinstance(exc, Exception):
                breakers.record_failure(dependency, clock.now(), error_class(exc))
            raise
        if breakers is not None:
            breakers.record_success(dependency, clock.now())
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


# --- safe resubmit ---------------------------------------------------------------------------------


class ResubmitAction(StrEnum):
    RESUBMIT_SAME_ID = "RESUBMIT_SAME_ID"  # verified unknown at the venue: send again, same client id
    ALREADY_AT_VENUE = "ALREADY_AT_VENUE"  # the venue has it: adopt its state, do not send
    WAIT = "WAIT"  # cannot verify yet: ask again later, do not send
    DO_NOT_RESUBMIT = "DO_NOT_RESUBMIT"  # never resend (rejected, not in the ledger, attempts used up)


@dataclass(frozen=True, slots=True)
class VenueLookup:
    """What a lookup of a client order id at the venue returned: found, unknown, or the lookup failed."""

    snapshot: OrderSnapshot | None = None
    error: ErrorClass | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @staticmethod
    def found(snapshot: OrderSnapshot) -> VenueLookup:
        return VenueLookup(snapshot=snapshot)

    @staticmethod
    def unknown() -> VenueLookup:
        return VenueLookup()

    @staticmethod
    def lookup_failed(error: ErrorClass) -> VenueLookup:
        return VenueLookup(error=error)


@dataclass(frozen=True, slots=True)
class ResubmitDecision:
    action: ResubmitAction
    client_order_id: str
    code: str
    details: dict[str, Any] = field(default_factory=dict)


_UNACKNOWLEDGED = (OrderStatus.PENDING_SUBMIT, OrderStatus.SUBMITTED)


def decide_resubmit(
    client_order_id: str,
    ledger_status: OrderStatus | None,
    lookup: VenueLookup | None,
    *,
    now: datetime,
    submitted_at: datetime | None,
    attempts: int = 0,
    max_resubmits: int = 2,
    min_age_s: float = 5.0,
) -> ResubmitDecision:
    """Whether an order whose submit failed (or whose answer never came) may be sent again.

    Resend (with the same client order id) only when the ledger shows it unacknowledged, a successful
    broker lookup by client order id says the venue does not know it, and the submit is at least
    ``min_age_s`` old (venues can take a moment to show a new order). ``lookup`` None means not looked
    up yet: WAIT.
    """
    details: dict[str, Any] = {
        "ledger_status": ledger_status.value if ledger_status else None,
        "attempts": attempts,
    }
    if ledger_status is None:
        return ResubmitDecision(
            ResubmitAction.DO_NOT_RESUBMIT,
            client_order_id,
            reasons.INTERNAL_ERROR,
            {**details, "why": "not in the ledger: write-ahead missing"},
        )
    if ledger_status is OrderStatus.REJECTED:
        return ResubmitDecision(
            ResubmitAction.DO_NOT_RESUBMIT,
            client_order_id,
            reasons.ORDER_REJECTED,
            {**details, "why": "the venue rejected it"},
        )
    if ledger_status not in _UNACKNOWLEDGED:
        return ResubmitDecision(
            ResubmitAction.ALREADY_AT_VENUE,
            client_order_id,
            reasons.ALREADY_AT_VENUE,
            {**details, "why": "the ledger has the venue's acknowledgement"},
        )
    if lookup is None:
        return ResubmitDecision(
            ResubmitAction.WAIT,
            client_order_id,
            reasons.NET_RETRY,
            {**details, "why": "not looked up at the venue yet"},
        )
    if lookup.snapshot is not None:
        return ResubmitDecision(
            ResubmitAction.ALREADY_AT_VENUE,
            client_order_id,
            reasons.ALREADY_AT_VENUE,
            {
                **details,
                "why": "found at the venue by client order id",
                "venue_status": lookup.snapshot.status.value,
                "venue_order_id": lookup.snapshot.venue_order_id,
            },
        )
    if lookup.error is not None:
        return ResubmitDecision(
            ResubmitAction.WAIT,
            client_order_id,
            lookup.error.code,
            {**details, "why": "venue lookup failed", "lookup_error": lookup.error.code},
        )
    if attempts >= max_resubmits:
        return ResubmitDecision(
            ResubmitAction.DO_NOT_RESUBMIT,
            client_order_id,
            reasons.INTERNAL_ERROR,
            {**details, "why": f"already resent {attempts} time(s)"},
        )
    if submitted_at is not None and (now - submitted_at).total_seconds() < min_age_s:
        return ResubmitDecision(
            ResubmitAction.WAIT,
            client_order_id,
            reasons.NET_RETRY,
            {**details, "why": f"submitted under {min_age_s}s ago; the venue may not show it yet"},
        )
    return ResubmitDecision(
        ResubmitAction.RESUBMIT_SAME_ID,
        client_order_id,
        reasons.RESUBMIT_SAME_ID,
        {**details, "why": "unacknowledged in the ledger and unknown at the venue"},
    )


class OrderLookup(Protocol):
    async def order_status(self, client_order_id: str) -> OrderSnapshot | None: ...

    def classify_error(self, exc: BaseException) -> ErrorClass | None: ...


async def lookup_order(broker: OrderLookup, client_order_id: str) -> VenueLookup:
    """Ask the venue about ``client_order_id``; a failure becomes a classified ``VenueLookup``."""
    try:
        snapshot = await broker.order_status(client_order_id)
    except Exception as exc:  # noqa: BLE001 - classified and returned: the caller WAITs, never resends
        error = classify_exception(exc, broker=broker)
        logger.bind(code=error.code, client_order_id=client_order_id).warning(
            "order lookup failed: {cat}", cat=error.category.value
        )
        return VenueLookup.lookup_failed(error)
    return VenueLookup.found(snapshot) if snapshot is not None else VenueLookup.unknown()
