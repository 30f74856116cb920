"""The paper record on real ES bars (the bundled week's first RTH minutes of Monday 2013-10-07): an entry at
the next bar's open, the bracket's stop and target, a signal against the position closing it, costs."""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tradebot.domain.bars import Bar
from tradebot.shadow.paper import PaperBook

SAMPLE = Path(__file__).resolve().parents[3] / "src/tradebot/data/es_esz13_1m_2013-10-06_2013-10-11.csv"


@pytest.fixture(scope="module")
def bars() -> list[Bar]:
    with SAMPLE.open() as f:
        rows = [r for r in csv.DictReader(f) if r["ts"] >= "2013-10-07T13:30:00Z"][:120]
    return [
        Bar(
            "ES",
            datetime.fromisoformat(r["ts"].replace("Z", "+00:00")),
            float(r["open"]),
            float(r["high"]),
            float(r["low"]),
            float(r["close"]),
            float(r["volume"]),
        )
        for r in rows
    ]


def book(stop: str = "1", target: str = "2", cost: str = "1") -> PaperBook:
    return PaperBook("s", "ES", stop=Decimal(stop), target=Decimal(target), per_side_bps=Decimal(cost))


def test_a_signal_enters_at_the_next_open_and_the_first_bracket_level_reached_closes_it(
    bars: list[Bar],
) -> None:
    paper = book()
    assert paper.on_bar(bars[0], 0.4) == []
    closed = []
    for bar in bars[1:]:
        closed += paper.on_bar(bar, None)
        if closed:
            break
    (trade,) = closed
    entry = Decimal(repr(bars[1].open))
    assert trade.entry == entry and trade.side == "LONG" and trade.entry_ts == bars[1].ts
    level = entry - 1 if trade.reason == "stop" else entry + 2
    assert trade.reason in ("stop", "target")
    if trade.reason == "target":
        assert trade.exit == level
    else:  # at the stop, or at the open of a bar that opened through it
        assert trade.exit <= level
    assert trade.gross_bps == ((trade.exit - entry) / entry * 10_000).quantize(Decimal("0.0001"))
    assert trade.net_bps == trade.gross_bps - 2


def test_a_signal_against_the_position_closes_it_at_the_next_open(bars: list[Bar]) -> None:
    paper = book(stop="50", target="50")
    paper.on_bar(bars[0], -0.5)  # short at bars[1].open
    assert paper.on_bar(bars[1], None) == []
    assert paper.on_bar(bars[2], 0.3) == []  # against it: closed at bars[3].open
    (trade,) = paper.on_bar(bars[3], None)
    assert (trade.side, trade.reason, trade.exit) == ("SHORT", "signal", Decimal(repr(bars[3].open)))
    assert trade.gross_bps == (-(trade.exit - trade.entry) / trade.entry * 10_000).quantize(Decimal("0.0001"))
    assert paper.direction == 0  # flat: the next signal may open the other way


def test_no_signal_no_trade(bars: list[Bar]) -> None:
    paper = book()
    assert all(paper.on_bar(bar, None) == [] for bar in bars)
    assert paper.direction == 0
