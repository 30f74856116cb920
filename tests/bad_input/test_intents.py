"""Bad external intent lines (``--intents FILE``) through the real command: each refused and recorded with
its line and the field that is wrong, the good intents around it still received and decided; an intent
whose time comes after the last bar is reported, never silently dropped. No traceback, whatever the line.

All rows go into one intents file replayed over the bundled sample's first 120 bars (2013-10-06 22:00Z to
2013-10-07 00:00Z). Any new intent input gets its rows here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from bad_input_helpers import RunCli, StoreView

pytestmark = pytest.mark.timeout(300)


def intent(intent_id: str, **fields: object) -> bytes:
    body: dict[str, object] = {
        "intent_id": intent_id,
        "symbol": "MES",
        "side": "BUY",
        "quantity": "1",
        "reference_price": "1675.00",
        "ts": "2013-10-06T22:30:00Z",
        **fields,
    }
    return orjson.dumps({k: v for k, v in body.items() if v is not None})


@dataclass(frozen=True)
class BadIntent:
    name: str
    raw: bytes
    field: str  # the field the refusal names
    words: str = ""  # in the refusal's message


BAD_INTENTS = [
    BadIntent("a byte that is not UTF-8", intent("latin-1").replace(b"MES", b"M\xc9S"), "<encoding>", "0xc9"),
    BadIntent("binary garbage", b"\x89PNG\r\x1a\x00\xff\xfe", "<encoding>", "not UTF-8"),
    BadIntent("a quantity of 1e28", intent("q28", quantity="1e28"), "quantity", "too large"),
    BadIntent(
        "a quantity of 1e30 as a number", intent("q30").replace(b'"1"', b"1e30"), "quantity", "too large"
    ),
    BadIntent(
        "a limit price of 1e40",
        intent("lp40", order_type="LIMIT", limit_price="1e40", reference_price=None),
        "limit_price",
        "too large",
    ),
    BadIntent(
        "a reference price of 1e20", intent("rp20", reference_price="1e20"), "reference_price", "too large"
    ),
    BadIntent(
        "a stop loss of 1e16",
        intent("sl16", exit_plan={"stop_loss": "1e16", "take_profit": "1680"}),
        "exit_plan.stop_loss",
        "too large",
    ),
    BadIntent(
        "an AI size of 1e28 USD",
        intent("ai28", schema_version="1.1", quantity=None, ai_size_usd="1e28"),
        "ai_size_usd",
        "too large",
    ),
    BadIntent("a tiny quantity off the lot grid", intent("tiny", quantity="1e-30"), "quantity", "lot step"),
    BadIntent("not JSON", b"{intent_id: oops", "<json>", "not valid JSON"),
    BadIntent("a JSON array", b"[1, 2, 3]", "<root>", "JSON object"),
    BadIntent("an unknown symbol", intent("sym", symbol="NOPE"), "symbol", "not a configured instrument"),
]


def test_each_bad_intent_line_is_refused_and_the_good_ones_decided(
    tmp_path: Path, sample_lines: list[str], run_cli: RunCli, stored: StoreView
) -> None:
    data = tmp_path / "bars.csv"
    data.write_text("\n".join(sample_lines) + "\n")
    good = [
        b"\xef\xbb\xbf" + intent("good-first", ts="2013-10-06T22:20:00Z"),  # a byte-order mark is fine
        intent("good-middle", ts="2013-10-06T23:00:00Z", side="SELL"),
        intent("good-last", ts="2013-10-06T23:30:00Z"),
    ]
    late = intent("after-the-data", ts="2013-10-08T14:30:00Z")
    lines = [
        good[0],
        *(b.raw for b in BAD_INTENTS[:6]),
        good[1],
        *(b.raw for b in BAD_INTENTS[6:]),
        late,
        good[2],
    ]
    intents = tmp_path / "intents.jsonl"
    intents.write_bytes(b"\n".join(lines) + b"\n")
    store = tmp_path / "intents.db"

    result = run_cli("replay", "--data", str(data), "--out", str(store), "--intents", str(intents), "-q")

    assert result.code == 0, result.output
    refused = {int(str(r["line"])): r for r in stored.bodies(store, "intent_refused")}
    for bad in BAD_INTENTS:
        line = lines.index(bad.raw) + 1
        assert line in refused, f"{bad.name}: line {line} not refused"
        assert refused[line]["field"] == bad.field, f"{bad.name}: {refused[line]}"
        assert refused[line]["code"] == "INTENT_INVALID"
        assert bad.words in str(refused[line]["message"]), f"{bad.name}: {refused[line]}"
    assert len(refused) == len(BAD_INTENTS)

    received = {str(b["intent"]["intent_id"]) for b in stored.bodies(store, "external_intent")}  # type: ignore[index]
    decided = {str(b["intent"]["intent_id"]) for b in stored.bodies(store, "decision")}  # type: ignore[index]
    assert received == {"good-first", "good-middle", "good-last", "after-the-data"}
    assert {"good-first", "good-middle", "good-last"} <= decided  # every good intent reached the gates
    assert "after-the-data" not in decided

    (late_record,) = stored.bodies(store, "intent_not_decided")
    assert late_record["code"] == "INTENT_AFTER_END_OF_DATA" and late_record["intent_id"] == "after-the-data"
    assert f"external intents: refused: {len(BAD_INTENTS)} not decided: 1" in result.words
    assert stored.kinds(store)["bar"] == 120  # no bar lost to a bad intent


def test_an_intents_file_of_binary_bytes_refuses_each_line_and_the_run_goes_on(
    tmp_path: Path, sample_lines: list[str], run_cli: RunCli, stored: StoreView
) -> None:
    data = tmp_path / "bars.csv"
    data.write_text("\n".join(sample_lines) + "\n")
    intents = tmp_path / "intents.jsonl"
    intents.write_bytes(b"\x1f\x8b\x08\x00\xff\xfe\n\x00\x9c\xee\n")
    store = tmp_path / "intents.db"
    result = run_cli("replay", "--data", str(data), "--out", str(store), "--intents", str(intents), "-q")
    assert result.code == 0, result.output
    assert [r["field"] for r in stored.bodies(store, "intent_refused")] == ["<encoding>", "<encoding>"]
    assert stored.kinds(store)["bar"] == 120
