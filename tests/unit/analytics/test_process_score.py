"""The process score's rules on plain rows: a decision follows the process only with valid data, every gate
of the chain up to the one that ended it, and no operator; a trade only with a planned exit, no operator and
an explained loss. The score is the share of both together; each component counts what it applies to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tradebot.analytics.attribution import Attribution
from tradebot.analytics.process_score import process_score
from tradebot.analytics.store_view import DecisionRow, StoreView
from tradebot.analytics.trades import Trade

CHAIN = ("trading_state", "dvs_floor", "entry_confidence")
T0 = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)


def row(
    n: int,
    *,
    gates: tuple[str, ...] = CHAIN,
    outcome: str = "APPROVED",
    dvs: float | None = 1.0,
    source: str = "strategy",
    day: int = 0,
) -> DecisionRow:
    return DecisionRow(
        T0 + timedelta(days=day, minutes=n),
        "ES",
        f"i{n}",
        outcome,
        "",
        "",
        "BUY",
        None,
        source,
        False,
        "",
        "",
        None,
        None,
        dvs,
        gates,
    )


def trade(n: int, exit_reason: str, day: int = 0) -> Trade:
    when = T0 + timedelta(days=day, minutes=n)
    one = Decimal(1)
    return Trade(
        "ES",
        "LONG",
        when,
        when,
        one,
        one,
        one,
        one,
        one,
        one,
        exit_reason,
        one,
        one,
        one,
        one,
        f"e{n}",
        f"x{n}",
    )


def attribution(code: str) -> Attribution:
    return Attribution("k", code, "", (code,), ())


def test_each_rule_of_the_score() -> None:
    view = StoreView(None, None, chain=CHAIN)
    view.decisions = [
        row(1),  # followed
        row(2, gates=CHAIN[:1], outcome="BLOCKED"),  # blocked by the first gate: followed
        row(3, gates=CHAIN[:2]),  # approved without the last gate's verdict: not
        row(4, dvs=0.8),  # data scored below 1: not
        row(5, source="operator"),  # an operator's: not
        row(6, gates=("dvs_floor",), outcome="BLOCKED"),  # gates out of chain order: not
    ]
    trades = [trade(1, "target"), trade(2, "operator"), trade(3, "flatten"), trade(4, "")]
    codes = [attribution("A0"), attribution("A8"), attribution("A9"), attribution("A9")]
    result = process_score(view, trades, codes)["run"]
    assert (result["decisions"], result["trades"], result["followed"]) == (6, 4, 3)
    assert result["score"] == 0.3
    parts = result["components"]
    assert parts["data_valid"] == {"share": round(5 / 6, 6), "passed": 5, "of": 6}
    assert parts["gates_evaluated"] == {"share": round(4 / 6, 6), "passed": 4, "of": 6}
    assert parts["no_operator_override"] == {"share": 0.8, "passed": 8, "of": 10}
    assert parts["exits_per_plan"] == {"share": 0.5, "passed": 2, "of": 4}
    assert parts["no_unexplained_loss"] == {"share": 0.5, "passed": 2, "of": 4}


def test_days_are_kept_apart() -> None:
    view = StoreView(None, None, chain=CHAIN)
    view.decisions = [row(1), row(2, day=1, dvs=0.5)]
    days = process_score(view, [], [])["days"]
    assert [d["score"] for d in days.values()] == [1.0, 0.0]
    assert list(days) == ["2024-03-04", "2024-03-05"]
