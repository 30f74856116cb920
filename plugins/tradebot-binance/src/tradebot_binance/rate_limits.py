"""Request-weight bookkeeping: the venue's own ``rateLimits`` and ``X-MBX-USED-WEIGHT-1M`` header.

Binance counts request weight per IP per minute. The limit comes from ``exchangeInfo.rateLimits``
(``REQUEST_WEIGHT``/``MINUTE``); the weight used so far arrives on every response. Before a request the
adapter asks ``delay_s`` how long to wait: until a ban (HTTP 418/429 ``Retry-After``) is over, or until the
next minute when the used weight has reached ``safety`` x limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_WEIGHT_LIMIT = 2400  # USD-M's published REQUEST_WEIGHT per minute, until exchangeInfo says otherwise
USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"


@dataclass(slots=True)
class WeightTracker:
    safety: float = 0.8
    weight_limit: int = DEFAULT_WEIGHT_LIMIT
    order_limits: dict[str, int] = field(default_factory=dict)  # e.g. {"10s": 300, "1m": 1200}
    used_weight: int = 0
    used_minute: int = -1
    banned_until_ms: int = 0

    def update_limits(self, rate_limits: Iterable[Mapping[str, Any]]) -> None:
        for item in rate_limits:
            kind = str(item.get("rateLimitType", ""))
            interval = str(item.get("interval", "")).upper()
            num = int(item.get("intervalNum", 1))
            limit = int(item.get("limit", 0))
            if kind == "REQUEST_WEIGHT" and interval == "MINUTE" and num == 1 and limit > 0:
                self.weight_limit = limit
            elif kind == "ORDERS" and limit > 0:
                unit = {"SECOND": "s", "MINUTE": "m", "HOUR": "h", "DAY": "d"}.get(interval, interval)
                self.order_limits[f"{num}{unit}"] = limit

    def observe(self, headers: Mapping[str, str] | None, now_ms: int) -> None:
        if headers is None:
            return
        raw = headers.get(USED_WEIGHT_HEADER)
        if raw is None:
            return
        try:
            used = int(raw)
        except ValueError:
            return
        minute = now_ms // 60_000
        if minute != self.used_minute:
            self.used_minute, self.used_weight = minute, used
        else:
            self.used_weight = max(self.used_weight, used)

    def ban(self, now_ms: int, retry_after_s: float | None, default_s: float) -> float:
        """Record a rate-limit answer; returns the seconds to stay away."""
        wait_s = retry_after_s if retry_after_s is not None else default_s
        self.banned_until_ms = max(self.banned_until_ms, now_ms + int(wait_s * 1000))
        return wait_s

    def delay_s(self, now_ms: int) -> float:
        if self.banned_until_ms > now_ms:
            return (self.banned_until_ms - now_ms) / 1000.0
        minute = now_ms // 60_000
        if minute == self.used_minute and self.used_weight >= self.safety * self.weight_limit:
            return ((minute + 1) * 60_000 - now_ms) / 1000.0
        return 0.0
