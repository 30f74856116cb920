"""The run summary: a table (rich) of one fact a row, money exact (no exponent, no trailing zeros, every
significant digit), a value's brackets printed as they are, then where the run's files went."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tradebot.pipeline.summary import money, render_summary, summarize_events


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("0E-8", "0"),
        ("0.00000000", "0"),
        ("-0", "0"),
        ("1.25000000", "1.25"),
        ("8.3540625", "8.3540625"),
        ("-42.10406250", "-42.1040625"),
        ("1E+2", "100"),
        ("100", "100"),
        ("0.00000001", "0.00000001"),
        ("123456789.123456789", "123456789.123456789"),
    ],
)
def test_money_is_exact_without_exponent_or_trailing_zeros(stored: str, shown: str) -> None:
    assert money(stored) == shown
    assert Decimal(shown) == Decimal(stored)


def _summary(**changes: Any) -> dict[str, Any]:
    events: list[tuple[str, dict[str, Any]]] = [
        ("run_start", {"mode": "replay", "resumed_after": None, "instruments": [], "starting_cash": "1000"}),
    ]
    summary = summarize_events(events)
    summary.update(
        {
            "bars": 5, "first_bar": "2013-10-07T13:30:00+00:00", "last_bar": "2013-10-07T13:34:00+00:00",
            "realized_pnl": "0E-8", "unrealized_pnl": "1.25000000", "fees": "0.00000000",
            "net_pnl": "1.25000000", "positions": {"MES": "1.00000000"},
            "blocked": {"DAILY_LOSS_CAP": 2}, "intents": 3, "approved": 1,
        }
    )
    summary.update(changes)
    return summary


def test_the_summary_is_a_table_of_rows_with_money_exact() -> None:
    text = render_summary(_summary())
    lines = text.splitlines()
    assert lines[0] == "tradebot run summary"
    rows = {line.split(":")[0].strip(): " ".join(line.split(":", 1)[1].split()) for line in lines[1:]}
    assert rows["bars"] == "5 processed (2013-10-07T13:30:00+00:00 .. 2013-10-07T13:34:00+00:00)"
    assert rows["pnl"] == "realized 0 unrealized 1.25 fees 0 net 1.25"
    assert rows["positions"] == "MES 1"
    assert rows["blocked DAILY_LOSS_CAP"] == "2"
    assert "E-" not in text
    # the values start in one column
    starts = {line.index(line.split(":", 1)[1].strip()) for line in lines[1:] if ":" in line}
    assert len(starts) == 1


def test_a_value_in_brackets_is_printed_as_it_is() -> None:
    summary = _summary(
        trading_state="HALTED", trading_state_reason="PROGRAMMING_ERROR_HALT", trading_state_since="t0",
        trading_state_hold="OPERATOR", trading_state_details={"error": "KeyError: [bold]x[/bold]"},
    )
    text = render_summary(summary)
    assert "error: KeyError: [bold]x[/bold]" in text
    held = "held until an operator resumes: `tradebot resume`"
    assert f"HALTED since t0 (PROGRAMMING_ERROR_HALT; {held})" in text


def test_paths_follow_the_summary_and_a_narrow_terminal_wraps_the_values_only() -> None:
    paths = {"store": "runs/stores/x.db", "log": "runs/tradebot.jsonl"}
    wide = render_summary(_summary(), paths)
    assert [line.split() for line in wide.splitlines()[-2:]] == [
        ["store:", "runs/stores/x.db"], ["log:", "runs/tradebot.jsonl"]
    ]
    assert wide.startswith(render_summary(_summary()))
    narrow = render_summary(_summary(), paths, width=40)
    assert max(len(line) for line in narrow.splitlines()) <= 40
    assert all(line.startswith(("tradebot", " ")) or ":" in line for line in narrow.splitlines())


def _decision(symbol: str, sleeve: str, blocked: bool) -> tuple[str, dict[str, Any]]:
    return ("decision", {
        "intent": {"symbol": symbol, "sleeve": sleeve},
        "outcome": "BLOCKED" if blocked else "APPROVED",
        "code": "MAX_TRADES_PER_DAY" if blocked else "APPROVED",
        "verdicts": [],
    })


def test_several_instruments_and_sleeves_each_get_their_share_of_the_intents() -> None:
    events = [
        _decision("MES", "trend", False), _decision("MES", "trend", True), _decision("SPY", "trend", True),
        _decision("SPY", "reversion", False), _decision("SPY", "", True),  # an external intent: no sleeve
    ]
    summary = summarize_events(events)
    assert summary["by_symbol"] == {
        "MES": {"intents": 2, "approved": 1, "blocked": 1},
        "SPY": {"intents": 3, "approved": 1, "blocked": 2},
    }
    assert summary["by_sleeve"] == {
        "reversion": {"intents": 1, "approved": 1, "blocked": 0},
        "trend": {"intents": 3, "approved": 1, "blocked": 2},
    }
    shares = {"by_symbol": summary["by_symbol"], "by_sleeve": summary["by_sleeve"]}
    text = render_summary({**_summary(), **shares})
    lines = text.splitlines()[1:]
    rows = {line.split(":")[0].strip(): " ".join(line.split(":", 1)[1].split()) for line in lines}
    assert rows["symbol SPY"] == "3 approved: 1 blocked: 2"
    assert rows["sleeve trend"] == "3 approved: 1 blocked: 2"
    one = summarize_events([_decision("MES", "", False)])
    assert "symbol MES" not in render_summary({**_summary(), "by_symbol": one["by_symbol"]})  # one: no share
