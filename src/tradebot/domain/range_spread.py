"""The bid-ask spread a pair of bars' ranges implies, for when no quote is known: the high-low estimator of
Corwin and Schultz (2012). With ``b = ln(H1/L1)² + ln(H2/L2)²`` and ``g = ln(max(H1,H2)/min(L1,L2))²``,
``a = (√(2b) − √b)/(3 − 2√2) − √(g/(3 − 2√2))`` and ``S = 2(eᵃ − 1)/(1 + eᵃ)``; a negative estimate (a
trend, not a spread) is 0. Shared by the cost analysis (analytics.proxy) and the liquidity regime (risk)."""

from __future__ import annotations

import math

_K = 3 - 2 * math.sqrt(2)


def corwin_schultz_bps(high1: float, low1: float, high2: float, low2: float) -> float:
    """The full spread in bps of two consecutive bars (0 for a bar without a positive range)."""
    if min(high1, low1, high2, low2) <= 0:
        return 0.0
    beta = math.log(high1 / low1) ** 2 + math.log(high2 / low2) ** 2
    gamma = math.log(max(high1, high2) / min(low1, low2)) ** 2
    alpha = (math.sqrt(2 * beta) - math.sqrt(beta)) / _K - math.sqrt(gamma / _K)
    spread = 2 * (math.exp(alpha) - 1) / (1 + math.exp(alpha))
    return max(spread, 0.0) * 10_000
