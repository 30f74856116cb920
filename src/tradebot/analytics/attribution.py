"""Why a closed trade made or lost what it did: one code A0–A9 per trade, decided by rules from the evidence
the store holds about it (``attribution_evidence``), never by hand.

The taxonomy (docs/attribution.md):

    A0 planned target          the bracket's take-profit closed it
    A1 planned stop            the bracket's stop closed it, within the slippage the model allows
    A2 time stop / deadline    the flatten deadline, the session close or the sizer's time stop closed it
    A3 costs dominate          a gross win that fees and slippage turned into a net loss
    A4 adverse gap / slippage  a fill of the trade ``adverse_slippage_bps`` or more beyond its benchmark
                               (the bar close it was decided on, or the stop or target level of a leg)
    A5 signal exit             the strategy closed or reversed it on its signal
    A6 data quality            a bar of the symbol refused by validation while the trade was open, or an
                               entry decided on data scored below 1 (DVS: missing and refused bars)
    A7 execution fault         an order of the trade rejected, abandoned or expired, a partial fill, or a
                               fill later than ``late_fill_ms``
    A8 operator or risk halt   the operator closed it, or a halt moved the trading state while it was open
                               and it was closed by something other than its own bracket
    A9 unexplained             none of the above explains it: an exit whose role the store does not know, or
                               a loss, less the slippage of its entry and exit, beyond the risk its stop
                               planned (× 1 + ``loss_tolerance``) with no gap, data or execution fault to
                               explain it: the stop should have closed it sooner

Several conditions may hold; the code is the first in the order A8, A7, A6, A4, A9, A3, then the planned
exit (A0, A1, A2, A5): what went wrong outranks what went to plan. ``flags`` lists every code that held.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ZERO = Decimal(0)

LABELS: dict[str, str] = {
    "A0": "planned target",
    "A1": "planned stop",
    "A2": "time stop or flatten deadline",
    "A3": "costs dominate",
    "A4": "adverse gap or slippage beyond model",
    "A5": "signal exit",
    "A6": "data quality",
    "A7": "execution fault",
    "A8": "operator or risk halt",
    "A9": "unexplained",
}
CODES = tuple(LABELS)
_FAULT_ORDER = ("A8", "A7", "A6", "A4", "A9", "A3")
_PLANNED_BY_EXIT = {
    "target": "A0",
    "stop": "A1",
    "flatten": "A2",
    "time_stop": "A2",
    "signal": "A5",
    "reversal": "A5",
}
PLANNED = frozenset(("A0", "A1", "A2", "A5"))


class AttributionRules(BaseModel):
    """The thresholds of the rules (``[attribution]`` in the run config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    adverse_slippage_bps: Decimal = Field(Decimal(15), gt=0)
    late_fill_ms: int = Field(5_000, gt=0)
    loss_tolerance: Decimal = Field(Decimal("0.5"), ge=0)  # a loss up to (1 + this) × the planned risk


@dataclass(frozen=True, slots=True)
class TradeEvidence:
    """What the store says about one closed trade, in plain values."""

    key: str
    symbol: str
    exit_role: str  # target | stop | flatten | time_stop | signal | reversal | operator | "" (unknown)
    pnl_gross: Decimal
    pnl_net: Decimal
    planned_risk: Decimal | None  # |decision price − stop level| × Q × point value; None without a stop
    slippage_cost: Decimal  # the price part of the entry's and the exit's shortfall, in currency (+ = cost)
    worst_slippage_bps: Decimal | None  # the largest adverse price slippage of the trade's fills
    order_faults: tuple[str, ...]  # e.g. "rejected tb-…", "partial tb-…", "late tb-… 7200 ms"
    data_issues: tuple[str, ...]  # e.g. "BAR_OHLC_INCONSISTENT at 2013-10-07T20:31:00+00:00"
    halts: tuple[str, ...]  # trading state moves while it was open, e.g. "HALTED DAILY_LOSS_CAP"


@dataclass(frozen=True, slots=True)
class Attribution:
    key: str
    code: str
    label: str
    flags: tuple[str, ...]  # every code whose condition held, in the order above
    reasons: tuple[str, ...]  # the evidence behind each flag

    def as_dict(self) -> dict[str, Any]:
        return {
            "trade": self.key,
            "code": self.code,
            "label": self.label,
            "flags": list(self.flags),
            "reasons": list(self.reasons),
        }


def attribute(evidence: TradeEvidence, rules: AttributionRules) -> Attribution:
    held: dict[str, str] = {}
    if evidence.exit_role == "operator":
        held["A8"] = "closed by the operator"
    elif evidence.halts and evidence.exit_role not in ("stop", "target"):
        held["A8"] = "; ".join(evidence.halts)
    if evidence.order_faults:
        held["A7"] = "; ".join(evidence.order_faults)
    if evidence.data_issues:
        held["A6"] = "; ".join(evidence.data_issues)
    slip = evidence.worst_slippage_bps
    if slip is not None and slip >= rules.adverse_slippage_bps:
        held["A4"] = f"slippage {slip} bps >= {rules.adverse_slippage_bps}"
    loss = -evidence.pnl_gross - max(evidence.slippage_cost, ZERO)  # what the plan itself lost
    explained = any(code in held for code in ("A8", "A7", "A6", "A4"))
    if evidence.exit_role not in _PLANNED_BY_EXIT and evidence.exit_role != "operator":
        held["A9"] = f"exit by an order of unknown role {evidence.exit_role!r}"
    elif (
        not explained
        and evidence.planned_risk is not None
        and loss > evidence.planned_risk * (1 + rules.loss_tolerance)
    ):
        held["A9"] = (
            f"loss {loss} before slippage beyond the planned risk {evidence.planned_risk} × "
            f"{1 + rules.loss_tolerance}"
        )
    if evidence.pnl_gross > ZERO and evidence.pnl_net < ZERO:
        held["A3"] = f"gross {evidence.pnl_gross}, net {evidence.pnl_net}"
    planned = _PLANNED_BY_EXIT.get(evidence.exit_role)
    if planned is not None:
        held[planned] = f"exit: {evidence.exit_role}"
    flags = tuple(code for code in CODES if code in held)
    code = next((c for c in _FAULT_ORDER if c in held), planned or "A9")
    ordered = (code, *(c for c in flags if c != code))
    return Attribution(
        key=evidence.key,
        code=code,
        label=LABELS[code],
        flags=flags,
        reasons=tuple(f"{c}: {held[c]}" for c in ordered if c in held),
    )


def counts(attributions: list[Attribution]) -> dict[str, int]:
    """Trades per code, every code listed (0 included)."""
    tally = dict.fromkeys(CODES, 0)
    for a in attributions:
        tally[a.code] += 1
    return tally
