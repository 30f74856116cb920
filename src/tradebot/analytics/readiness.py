"""Go-live readiness of an observe history: enough session days observed, a process score above the bar,
and no unexplained (A9) loss. READY only when every criterion holds; each is shown with its figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tradebot.analytics.attribution import Attribution

if TYPE_CHECKING:
    from tradebot.analytics.store_view import StoreView


class ReadinessCriteria(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_days: int = Field(20, ge=1)  # session days observed
    min_process_score: Decimal = Field(Decimal("0.90"), ge=0, le=1)  # strictly above
    max_a9: int = Field(0, ge=0)  # unexplained losses allowed


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    days_observed: int
    process_score: float | None
    a9_losses: int
    checks: tuple[tuple[str, bool, str], ...]  # (criterion, met, what was measured against what)

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": "READY" if self.ready else "NOT READY",
            "days_observed": self.days_observed,
            "process_score": self.process_score,
            "a9_losses": self.a9_losses,
            "checks": [{"criterion": c, "met": met, "measured": text} for c, met, text in self.checks],
        }


def observed_days(view: StoreView) -> list[str]:
    """The session days with at least one bar inside the instrument's session recorded by an observe-mode
    run (a day with pre- or after-market bars only is not a day observed)."""
    from tradebot.analytics.process_score import session_day
    from tradebot.domain.calendars import CalendarError, shared_calendars

    calendars = shared_calendars()
    days = set()
    for (mode, symbol, _), ends in view.bar_hours.items():
        if mode != "observe":
            continue
        instrument = view.instruments.get(symbol)
        for ts in ends:
            try:
                inside = instrument is None or calendars.is_open(instrument.calendar, ts)
            except CalendarError:
                inside = True
            if inside:
                days.add(session_day(view, symbol, ts))
                break
    return sorted(d.isoformat() for d in days)


def readiness(
    view: StoreView,
    process: Mapping[str, Any],
    attributions: Sequence[Attribution],
    pnl_net: Mapping[str, Decimal],
    criteria: ReadinessCriteria,
) -> Readiness:
    """``process`` is ``process_score(...)``; ``pnl_net`` each trade's net PnL by its key (an A9 that made
    money is not a loss)."""
    days = len(observed_days(view))
    score = process["run"]["score"]
    a9 = sum(1 for a in attributions if a.code == "A9" and pnl_net.get(a.key, Decimal(0)) < 0)
    checks = (
        (
            "days_observed",
            days >= criteria.min_days,
            f"{days} session days observed (need >= {criteria.min_days})",
        ),
        (
            "process_score",
            score is not None and Decimal(str(score)) > criteria.min_process_score,
            f"process score {score if score is not None else 'n/a'} (need > {criteria.min_process_score})",
        ),
        ("a9_losses", a9 <= criteria.max_a9, f"{a9} unexplained (A9) losses (allowed {criteria.max_a9})"),
    )
    return Readiness(all(met for _, met, _ in checks), days, score, a9, checks)
