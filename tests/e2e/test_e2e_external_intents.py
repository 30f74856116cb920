"""External intents (JSON lines) go through the same gates; a bad one is refused naming its field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_helpers import tradebot

from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(300)


def test_external_intents_are_gated_and_bad_ones_refused(tmp_path: Path, sample: Path) -> None:
    lines = [
        {
            "schema_version": "1.1",
            "intent_id": "ext-1",
            "symbol": "MES",
            "side": "buy",
            "quantity": "1",
            "reference_price": "1675.00",
            "confidence": 0.9,
            "ts": "2013-10-07T14:30:00Z",
            "ai_size_usd": "8000",
            "future_field": 1,
            "exit_plan": {"stop_loss": "1670.00", "take_profit": "1680.00"},
        },
        {
            "intent_id": "ext-2",
            "symbol": "MES",
            "side": "SELL",
            "quantity": "1",
            "confidence": 0.9,
            "reference_price": "1690",
            "ts": "2013-10-07T03:00:00Z",
        },
        {
            "schema_version": "1.1",
            "intent_id": "ext-3",
            "symbol": "MES",
            "side": "SIDEWAYS",
            "quantity": "1",
            "ts": "2013-10-07T14:31:00Z",
        },
    ]
    intents = tmp_path / "intents.jsonl"
    intents.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    store = tmp_path / "ext.db"
    # a slice of the week: Sunday evening to Monday afternoon
    data = tmp_path / "slice.csv"
    data.write_text("\n".join(sample.read_text().splitlines()[:1400]) + "\n")
    result = tradebot("replay", "--data", str(data), "--out", str(store), "--intents", str(intents))
    assert result.returncode == 0, result.stderr
    with StoreReader(store) as reader:
        events = list(reader.iter_events())
    refused = [e.body for e in events if e.kind == "intent_refused"]
    assert len(refused) == 1 and refused[0]["field"] == "side" and refused[0]["line"] == 3
    received = {e.body["intent"]["intent_id"]: e.body for e in events if e.kind == "external_intent"}
    assert set(received) == {"ext-1", "ext-2"}
    assert "future_field" in received["ext-1"]["ignored"]
    decisions = {e.body["intent"]["intent_id"]: e for e in events if e.kind == "decision"}
    assert decisions["ext-2"].body["code"] == "MARKET_CLOSED_BLOCK"  # 23:00 New York: outside MES hours
    ext1 = decisions["ext-1"]
    assert ext1.ts.isoformat() == "2013-10-07T14:30:00+00:00"  # decided at its own time, not on arrival
    assert ext1.body["outcome"] in ("APPROVED", "CLAMPED", "BLOCKED")
    assert ext1.body["verdicts"][0]["gate"] == "trading_state"
