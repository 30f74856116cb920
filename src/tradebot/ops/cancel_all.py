"""Cancel-all, rate-limited: at most ``max_per_minute`` triggers per rolling 60 s window.

``CancelAllPolicy.request(now, reason)`` answers CANCEL_ALL_TRIGGERED (go: call ``broker.cancel_all``)
or CANCEL_ALL_THROTTLED (the limit is used up; ``next_allowed_at`` says when it frees). Its only state
is the times of past triggers; ``now`` comes in as an argument. ``run_cancel_all`` is the edge helper
that asks the policy, calls the broker and classifies a failure.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from loguru import logger

from tradebot.domain import reasons
from tradebot.domain.errors import ErrorClass
from tradebot.ops.errors import classify_exception


@dataclass(frozen=True, slots=True)
class CancelAllDecision:
    allowed: bool
    code: str  # CANCEL_ALL_TRIGGERED or CANCEL_ALL_THROTTLED
    reason: str
    symbol: str | None
    at: datetime
    next_allowed_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)


class CancelAllPolicy:
    def __init__(self, max_per_minute: int = 2, window_s: float = 60.0) -> None:
        if max_per_minute < 1:
            raise ValueError(f"cancel_all max_per_minute must be >= 1, got {max_per_minute}")
        if window_s <= 0:
            raise ValueError(f"cancel_all window_s must be > 0, got {window_s}")
        self.max_per_minute = max_per_minute
        self.window = timedelta(seconds=window_s)
        self._triggers: deque[datetime] = deque()

    def request(self, now: datetime, reason: str, symbol: str | None = None) -> CancelAllDecision:
        while self._triggers and self._triggers[0] <= now - self.window:
            self._triggers.popleft()
        details: dict[str, Any] = {
            "reason": reason,
            "symbol": symbol,
            "in_window": len(self._triggers),
            "max_per_minute": self.max_per_minute,
        }
        if len(self._triggers) >= self.max_per_minute:
            next_at = self._triggers[0] + self.window
            details["next_allowed_at"] = next_at.isoformat()
            return CancelAllDecision(
                False, reasons.CANCEL_ALL_THROTTLED, reason, symbol, now, next_at, details
            )
        self._triggers.append(now)
        return CancelAllDecision(True, reasons.CANCEL_ALL_TRIGGERED, reason, symbol, now, None, details)


class CancelsAll(Protocol):
    async def cancel_all(self, symbol: str | None = None) -> None: ...

    def classify_error(self, exc: BaseException) -> ErrorClass | None: ...


@dataclass(frozen=True, slots=True)
class CancelAllResult:
    decision: CancelAllDecision
    sent: bool
    error: ErrorClass | None = None


async def run_cancel_all(
    broker: CancelsAll, policy: CancelAllPolicy, now: datetime, reason: str, symbol: str | None = None
) -> CancelAllResult:
    """Ask the policy; when allowed, call ``broker.cancel_all``. Logged either way; a failure is
    classified and returned (the caller records it and decides: usually HALT and alert)."""
    decision = policy.request(now, reason, symbol)
    log = logger.bind(code=decision.code, **decision.details)
    if not decision.allowed:
        log.warning(
            "cancel-all throttled ({reason}); next allowed at {at}",
            reason=reason,
            at=decision.details.get("next_allowed_at"),
        )
        return CancelAllResult(decision, sent=False)
    log.warning("cancel-all triggered: {reason}", reason=reason)
    try:
        await broker.cancel_all(symbol)
    except Exception as exc:  # noqa: BLE001 - classified and returned to the caller, never swallowed
        error = classify_exception(exc, broker=broker)
        logger.bind(code=error.code, category=error.category.value).error(
            "cancel-all failed: {d}", d=error.details
        )
        return CancelAllResult(decision, sent=False, error=error)
    return CancelAllResult(decision, sent=True)
