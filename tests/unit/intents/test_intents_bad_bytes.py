"""An intent line that is not UTF-8, or a number too large for exact arithmetic, is refused naming the
field; the lines after it are still read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from tradebot.domain.clock import ReplayClock
from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.intents import IntentRefusal, JsonlIntentSource, ParsedIntent

NOW = datetime(2013, 10, 7, 14, 0, tzinfo=UTC)
MES = Instrument("MES", "CME", AssetClass.FUTURE, "USD", Decimal("0.25"), Decimal(1), Decimal(1), Decimal(5))
BTC = Instrument("BTCUSDT", "BINANCE", AssetClass.PERPETUAL, "USDT", Decimal("0.1"), Decimal("0.001"),
                 Decimal("0.001"))  # fmt: skip
INSTRUMENTS = {"MES": MES, "BTCUSDT": BTC}


def line(intent_id: str, **fields: object) -> bytes:
    body = {"intent_id": intent_id, "symbol": "MES", "side": "BUY", "quantity": "1",
            "reference_price": "1675", "ts": "2013-10-07T13:59:00Z", **fields}  # fmt: skip
    return orjson.dumps({k: v for k, v in body.items() if v is not None})


async def collect(items: AsyncIterator[ParsedIntent | IntentRefusal]) -> list[ParsedIntent | IntentRefusal]:
    return [item async for item in items]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (line("q", quantity="1e28"), "quantity"),
        (line("btc", symbol="BTCUSDT", quantity="1e26", reference_price="9000"), "quantity"),
        (line("lp", order_type="LIMIT", limit_price="1e30", reference_price=None), "limit_price"),
        (line("sl", exit_plan={"stop_loss": "1e15", "take_profit": "1e16"}), "exit_plan.stop_loss"),
        (line("ai", schema_version="1.1", quantity=None, ai_size_usd="1e28"), "ai_size_usd"),
        (line("bad").replace(b"BUY", b"B\xffY"), "<encoding>"),
    ],
    ids=["qty 1e28", "qty 1e26 on a 0.001 lot", "limit 1e30", "stop 1e15", "ai size 1e28", "not UTF-8"],
)
async def test_the_line_is_refused_naming_the_field_and_the_next_line_read(
    tmp_path: Path, raw: bytes, field: str
) -> None:
    path = tmp_path / "intents.jsonl"
    path.write_bytes(raw + b"\n" + line("next") + b"\n")
    refused, parsed = await collect(aiter(JsonlIntentSource(path, INSTRUMENTS, ReplayClock(NOW))))
    assert isinstance(refused, IntentRefusal) and refused.line == 1 and refused.field == field, refused
    assert isinstance(parsed, ParsedIntent) and parsed.intent.intent_id == "next" and parsed.line == 2
