"""The JSON-lines intent source: valid lines become intents, every bad line a refusal with its field."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from tradebot.domain.clock import ReplayClock
from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.intents import IntentRefusal, IntentSource, JsonlIntentSource, ParsedIntent

NOW = datetime(2024, 7, 1, 23, 45, tzinfo=UTC)
INSTRUMENTS = {
    "MES": Instrument("MES", "CME", AssetClass.FUTURE, "USD", Decimal("0.25"), Decimal(1), Decimal(1),
                      multiplier=Decimal(5), calendar="CME"),
}


def line(**body: object) -> str:
    base: dict[str, object] = {"intent_id": "a", "symbol": "MES", "side": "BUY", "quantity": 1,
                               "reference_price": 5500}
    base.update(body)
    return orjson.dumps(base).decode()


LINES = [
    line(intent_id="a"),
    "",
    "# a comment",
    "{broken json",
    line(intent_id="b", side="SIDEWAYS"),
    line(intent_id="a"),
    "[1, 2]",
    line(intent_id="c", schema_version="1.1", ai_leverage=10, note="kept aside"),
]


async def collect(source: IntentSource) -> list[ParsedIntent | IntentRefusal]:
    return [item async for item in source]


@pytest.mark.timeout(10)
async def test_file_source_yields_intents_and_refusals_in_order(tmp_path: Path) -> None:
    path = tmp_path / "intents.jsonl"
    path.write_text("\n".join(LINES) + "\n")
    items = await collect(JsonlIntentSource(path, INSTRUMENTS, ReplayClock(NOW)))
    summary = [(type(i).__name__, i.line, getattr(i, "field", None)) for i in items]
    assert summary == [
        ("ParsedIntent", 1, None),
        ("IntentRefusal", 4, "<json>"),
        ("IntentRefusal", 5, "side"),
        ("IntentRefusal", 6, "intent_id"),
        ("IntentRefusal", 7, "<root>"),
        ("ParsedIntent", 8, None),
    ]
    duplicate = items[3]
    assert isinstance(duplicate, IntentRefusal) and "line 1" in duplicate.message
    assert duplicate.code == "INTENT_INVALID" and duplicate.raw.startswith("{")
    last = items[-1]
    assert isinstance(last, ParsedIntent)
    assert last.intent.ai_leverage == Decimal(10) and last.ignored == {"note": "kept aside"}


@pytest.mark.timeout(10)
async def test_stdin_source(monkeypatch: pytest.MonkeyPatch) -> None:
    text = line(intent_id="s1") + "\n" + line(intent_id="s2", quantity=0)
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    items = await collect(JsonlIntentSource("-", INSTRUMENTS, ReplayClock(NOW)))
    assert isinstance(items[0], ParsedIntent) and items[0].intent.intent_id == "s1"
    assert isinstance(items[1], IntentRefusal) and items[1].field == "quantity" and items[1].line == 2


@pytest.mark.timeout(10)
async def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await collect(JsonlIntentSource(tmp_path / "absent.jsonl", INSTRUMENTS, ReplayClock(NOW)))
