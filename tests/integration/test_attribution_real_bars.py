"""One trade of each attribution code, built from real ES bars (the bundled week) and written through the
real event writer; the report reads the store back and must attribute each as constructed.

Every trade is long 1 ES: decided at a real bar's close (the reference), filled at the next bar's open, with
a bracket stop and target at real prices; how it ends (and what happens while it is open) makes its code.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from tradebot.analytics.report import build_report
from tradebot.store import EventWriter

SAMPLE = Path(__file__).resolve().parents[2] / "src/tradebot/data/es_esz13_1m_2013-10-06_2013-10-11.csv"
ES = {
    "symbol": "ES",
    "venue": "CME",
    "asset_class": "FUTURE",
    "currency": "USD",
    "tick_size": "0.25",
    "lot_step": "1",
    "min_qty": "1",
    "multiplier": "50",
    "calendar": "CME",
}
CHAIN = ["trading_state", "dvs_floor"]
Event = tuple[str, dict[str, Any], datetime, str | None, str | None]


def real_bars() -> list[dict[str, Any]]:
    with SAMPLE.open() as f:
        rows = list(csv.DictReader(f))
    bars = []
    for row in rows:
        opened = datetime.fromisoformat(row["ts"].replace("Z", "+00:00"))
        if opened.hour >= 14 and opened.day == 7:  # Monday 2013-10-07 from 14:00 UTC, the RTH morning
            bars.append({k: (opened if k == "ts" else Decimal(v)) for k, v in row.items()})
    return bars


BARS = real_bars()


class Trade:
    """Events of one long trade starting at bar ``i`` (decision at its close, entry at the next open)."""

    def __init__(self, name: str, i: int, *, stop: Decimal, target: Decimal, dvs: float = 1.0) -> None:
        self.name, self.i = name, i
        self.ref = BARS[i]["close"]
        self.entry = BARS[i + 1]["open"]
        self.stop, self.target = stop, target
        self.cid = f"tb-{name}"
        decided = BARS[i]["ts"] + timedelta(minutes=1)
        plan = {"stop_loss": str(stop), "take_profit": str(target)}
        intent = {
            "intent_id": f"i-{name}",
            "symbol": "ES",
            "side": "BUY",
            "quantity": "1",
            "reference_price": str(self.ref),
            "reduce_only": False,
            "source": "strategy",
            "order_type": "MARKET",
            "exit_plan": plan,
            "ts": decided.isoformat(),
        }
        verdicts = [
            {"gate": "trading_state", "outcome": "PASS", "code": None, "details": {}},
            {"gate": "dvs_floor", "outcome": "PASS", "code": None, "details": {"dvs": dvs}},
        ]
        submit = {
            "client_order_id": self.cid,
            "intent_id": f"i-{name}",
            "symbol": "ES",
            "side": "BUY",
            "quantity": "1",
            "order_type": "MARKET",
            "reduce_only": False,
            "bracket": plan,
            "ts": decided.isoformat(),
        }
        self.events: list[Event] = [
            (
                "decision",
                {
                    "intent": intent,
                    "approved": intent,
                    "verdicts": verdicts,
                    "outcome": "APPROVED",
                    "code": "APPROVED",
                    "order": {"client_order_id": self.cid},
                },
                decided,
                "ES",
                None,
            ),
            ("order_submit", submit, decided, "ES", self.cid),
            fill(decided, self.cid, "BUY", self.entry, "2.50"),
        ]

    def at(self, j: int) -> datetime:
        return BARS[j]["ts"] + timedelta(minutes=1)

    def leg(self, j: int, leg: str, price: Decimal, fee: str = "2.50") -> Trade:
        self.events.append(fill(self.at(j), f"{self.cid}-{leg}", "SELL", price, fee))
        other = "tp" if leg == "sl" else "sl"
        self.events.append(
            (
                "order_canceled",
                {"client_order_id": f"{self.cid}-{other}"},
                self.at(j),
                "ES",
                f"{self.cid}-{other}",
            )
        )
        return self

    def exit(self, j: int, source: str, *, reduce_only: bool = True) -> Trade:
        """A market exit decided at bar j's close (``source``: flatten, operator, strategy), filled at the
        next bar's open; the bracket's legs are canceled first."""
        when = self.at(j)
        cid = f"{self.cid}-x"
        intent = {
            "intent_id": f"x-{self.name}",
            "symbol": "ES",
            "side": "SELL",
            "quantity": "1",
            "reference_price": str(BARS[j]["close"]),
            "reduce_only": reduce_only,
            "source": source,
            "order_type": "MARKET",
            "ts": when.isoformat(),
        }
        verdicts = [{"gate": g, "outcome": "PASS", "code": None, "details": {}} for g in CHAIN]
        for leg in ("sl", "tp"):
            self.events.append(
                ("order_canceled", {"client_order_id": f"{self.cid}-{leg}"}, when, "ES", f"{self.cid}-{leg}")
            )
        self.events += [
            (
                "decision",
                {
                    "intent": intent,
                    "approved": intent,
                    "verdicts": verdicts,
                    "outcome": "APPROVED",
                    "code": "APPROVED",
                    "order": {"client_order_id": cid},
                },
                when,
                "ES",
                None,
            ),
            (
                "order_submit",
                {
                    "client_order_id": cid,
                    "intent_id": f"x-{self.name}",
                    "symbol": "ES",
                    "side": "SELL",
                    "quantity": "1",
                    "order_type": "MARKET",
                    "reduce_only": True,
                    "ts": when.isoformat(),
                },
                when,
                "ES",
                cid,
            ),
            fill(when, cid, "SELL", BARS[j + 1]["open"], "2.50"),
        ]
        return self

    def also(self, event: Event) -> Trade:
        self.events.append(event)
        return self


_fills = iter(range(1, 10_000))


def fill(when: datetime, cid: str, side: str, price: Decimal, fee: str) -> Event:
    body = {
        "client_order_id": cid,
        "fill_id": f"F{next(_fills)}",
        "symbol": "ES",
        "side": side,
        "quantity": "1",
        "price": str(price),
        "fee": fee,
        "leaves_qty": "0",
        "ts": when.isoformat(),
    }
    return ("order_filled", body, when, "ES", cid)


def first(start: int, test: Any) -> int:
    return next(j for j in range(start, len(BARS)) if test(BARS[j]))


def scenarios() -> dict[str, Trade]:
    """Each trade begins where the previous one ended, so the trades never overlap."""
    made: dict[str, Trade] = {}
    i = 0

    def new(code: str, **kw: Any) -> Trade:
        trade = Trade(code, i, **kw)
        made[code] = trade
        return trade

    def wide(at: int) -> dict[str, Decimal]:
        entry = BARS[at + 1]["open"]
        return {"stop": entry - 20, "target": entry + 20}

    # A0: the first later bar whose high reaches 1 point above the entry fills the target there
    t = new("A0", stop=BARS[i + 1]["open"] - 20, target=BARS[i + 1]["open"] + 1)
    j = first(i + 2, lambda b: b["high"] >= t.target)
    t.leg(j, "tp", t.target)
    i = j + 1
    # A1: the stop 1 point under the entry, filled at its level by the first bar whose low reaches it
    t = new("A1", stop=BARS[i + 1]["open"] - 1, target=BARS[i + 1]["open"] + 20)
    j = first(i + 2, lambda b: b["low"] <= t.stop)
    t.leg(j, "sl", t.stop)
    i = j + 1
    # A2: the flatten deadline closes it 5 bars later
    t = new("A2", **wide(i)).exit(i + 5, "flatten")
    i += 7
    # A3: a target one tick above the entry: a gross win of $12.50 that $15 of fees turn into a loss
    t = new("A3", stop=BARS[i + 1]["open"] - 20, target=BARS[i + 1]["open"] + Decimal("0.25"))
    j = first(i + 2, lambda b: b["high"] >= t.target)
    t.leg(j, "tp", t.target, fee="12.50")
    i = j + 1
    # A4: the stop gapped through: filled 0.25 % (25 bps) under its level
    t = new("A4", stop=BARS[i + 1]["open"] - 1, target=BARS[i + 1]["open"] + 20)
    j = first(i + 2, lambda b: b["low"] <= t.stop)
    t.leg(j, "sl", (t.stop * Decimal("0.9975")).quantize(Decimal("0.25")))
    i = j + 1
    # A5: the strategy's own exit signal 4 bars later
    t = new("A5", **wide(i)).exit(i + 4, "strategy")
    i += 6
    # A6: a bar of the symbol refused by validation while it was open; closed by the flatten deadline
    t = new("A6", **wide(i))
    t.also(
        (
            "bar_refused",
            {"code": "BAR_OHLC_INCONSISTENT", "symbol": "ES", "line": 1234},
            t.at(i + 2),
            "ES",
            None,
        )
    ).exit(i + 4, "flatten")
    i += 6
    # A7: an order of the trade rejected while it was open (a scale-in), then the deadline
    t = new("A7", **wide(i))
    rejected = "tb-A7-add"
    t.also(
        (
            "order_submit",
            {
                "client_order_id": rejected,
                "intent_id": "i-A7-add",
                "symbol": "ES",
                "side": "BUY",
                "quantity": "1",
                "order_type": "MARKET",
                "ts": t.at(i + 2).isoformat(),
            },
            t.at(i + 2),
            "ES",
            rejected,
        )
    )
    t.also(
        (
            "order_rejected",
            {"client_order_id": rejected, "reason": "insufficient margin"},
            t.at(i + 2),
            "ES",
            rejected,
        )
    ).exit(i + 4, "flatten")
    i += 6
    # A8: a daily-loss halt while it was open, and the halt's flatten closed it
    t = new("A8", **wide(i))
    t.also(
        (
            "trading_state",
            {"from": "ACTIVE", "to": "HALTED", "code": "DAILY_LOSS_CAP_BLOCK", "details": {}},
            t.at(i + 2),
            None,
            None,
        )
    ).exit(i + 3, "flatten")
    i += 5
    # A9: the stop 0.5 point under the entry never fired; the deadline closed it at a real price at least
    # 3 points under the entry: a loss far beyond the plan that nothing explains
    entry = BARS[i + 1]["open"]
    t = new("A9", stop=entry - Decimal("0.5"), target=entry + 20)
    j = first(i + 2, lambda b: b["open"] <= entry - 3) - 1
    t.exit(j, "flatten")
    return made


async def write(path: Path, trades: dict[str, Trade]) -> None:
    start = BARS[0]["ts"]
    events: list[Event] = [
        (
            "run_start",
            {"mode": "observe", "starting_cash": "100000", "instruments": [ES], "chain": CHAIN},
            start,
            None,
            None,
        )
    ]
    for b in BARS:
        body = {
            "symbol": "ES",
            "ts": b["ts"].isoformat(),
            "interval_s": 60,
            "open": str(b["open"]),
            "high": str(b["high"]),
            "low": str(b["low"]),
            "close": str(b["close"]),
            "volume": "1",
        }
        events.append(("bar", body, b["ts"] + timedelta(minutes=1), "ES", None))
    for trade in trades.values():
        events += trade.events
    events.sort(key=lambda e: e[2])  # stable: a bar's events keep their order
    async with EventWriter.open(path) as writer:
        for kind, body, ts, symbol, cid in events:
            writer.append(kind, body, ts=ts, symbol=symbol, client_order_id=cid)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("attribution") / "store.db"
    made = scenarios()
    anyio.run(write, path, made)
    return build_report(path), made


@pytest.mark.parametrize("code", [f"A{n}" for n in range(10)])
def test_each_constructed_trade_gets_its_code(report: Any, code: str) -> None:
    result, made = report
    by_entry = {t.entry_order: a for t, a in zip(result.trades, result.attributions, strict=True)}
    attribution = by_entry[made[code].cid]
    assert attribution.code == code, attribution.reasons


def test_the_report_counts_one_of_each(report: Any) -> None:
    result, _ = report
    assert result.data["attribution"]["counts"] == {f"A{n}": 1 for n in range(10)}
    process = result.data["process"]["run"]
    assert process["trades"] == 10
    # every exit was a planned one (bracket legs, flatten, signal); only the A9 is an unexplained loss
    assert process["components"]["exits_per_plan"] == {"share": 1.0, "passed": 10, "of": 10}
    assert process["components"]["no_unexplained_loss"] == {"share": 0.9, "passed": 9, "of": 10}


def test_an_unexplained_loss_makes_the_history_not_ready(report: Any) -> None:
    from tradebot.analytics.readiness import ReadinessCriteria, readiness

    result, _ = report
    pnl = {t.key: t.pnl_net for t in result.trades}
    verdict = readiness(
        result.view, result.data["process"], result.attributions, pnl, ReadinessCriteria(min_days=1)
    )
    assert verdict.days_observed == 2  # Monday's bars from 22:00 UTC open CME's Tuesday session
    assert verdict.a9_losses == 1
    assert not verdict.ready
    assert [c for c, met, _ in verdict.checks if not met] == ["a9_losses"]
    relaxed = ReadinessCriteria(min_days=1, max_a9=1)
    assert readiness(result.view, result.data["process"], result.attributions, pnl, relaxed).ready
