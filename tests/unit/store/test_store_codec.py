"""Event bodies encode canonically: same value, same bytes, whatever the construction order."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradebot.domain.bars import Bar
from tradebot.domain.events import OrderFilled
from tradebot.domain.orders import Side
from tradebot.store.codec import decode_body, encode_body, format_ts

TS = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)


class Colour(Enum):
    RED = 1


@dataclass(frozen=True, slots=True)
class Inner:
    zeta: Decimal
    alpha: tuple[int, ...]


@dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner
    when: datetime
    tags: frozenset[str]
    colour: Colour


def test_dataclass_keys_are_sorted_at_every_level() -> None:
    body = Outer("x", Inner(Decimal("1676.25"), (1, 2)), TS, frozenset({"b", "a"}), Colour.RED)
    assert encode_body(body) == (
        b'{"colour":1,"inner":{"alpha":[1,2],"zeta":"1676.25"},"name":"x",'
        b'"tags":["a","b"],"when":"2013-10-07T13:30:00+00:00"}'
    )


def test_domain_fill_encodes_decimals_exactly_and_enums_as_values() -> None:
    fill = OrderFilled("tb-1", "v1", "f1", "MES", Side.BUY, Decimal("1"), Decimal("1676.25"),
                       Decimal("0.62"), "USD", TS, Decimal("0"), simulated=True)
    body = decode_body(encode_body(fill))
    assert body["price"] == "1676.25" and body["fee"] == "0.62" and body["side"] == "BUY"
    assert body["ts"] == "2013-10-07T13:30:00+00:00" and body["kind"] == "order_filled"
    assert list(body) == sorted(body)


def test_non_utc_datetimes_are_written_in_utc() -> None:
    new_york = timezone(timedelta(hours=-4))
    local = datetime(2013, 10, 7, 9, 30, tzinfo=new_york)
    assert encode_body({"t": local}) == encode_body({"t": TS})
    assert format_ts(local) == "2013-10-07T13:30:00+00:00"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(TypeError, match="naive datetime"):
        encode_body({"t": datetime(2013, 10, 7, 13, 30)})
    with pytest.raises(ValueError, match="naive datetime"):
        format_ts(datetime(2013, 10, 7, 13, 30))


def test_other_values_and_top_level_types() -> None:
    assert encode_body({"d": date(2013, 10, 7)}) == b'{"d":"2013-10-07"}'
    with pytest.raises(TypeError, match="mapping or a dataclass"):
        encode_body([1, 2])
    with pytest.raises(TypeError, match="cannot encode"):
        encode_body({"x": object()})
    with pytest.raises(ValueError, match="not a JSON object"):
        decode_body(b"[1]")


def test_ts_text_sorts_in_time_order() -> None:
    times = [TS, TS + timedelta(microseconds=1), TS + timedelta(milliseconds=500), TS + timedelta(seconds=1)]
    texts = [format_ts(t) for t in times]
    assert sorted(texts) == texts
    assert format_ts(TS) == "2013-10-07T13:30:00+00:00"


def test_bar_body_round_trips() -> None:
    bar = Bar("MES", TS, 1676.75, 1677.25, 1673.5, 1675.25, 1884.0)
    body = decode_body(encode_body(bar))
    assert body == {"symbol": "MES", "ts": "2013-10-07T13:30:00+00:00", "open": 1676.75, "high": 1677.25,
                    "low": 1673.5, "close": 1675.25, "volume": 1884.0, "interval_s": 60}


@given(st.dictionaries(st.text(max_size=8), st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=8),
                                                      st.decimals(allow_nan=False, allow_infinity=False)),
                       max_size=12), st.randoms())
def test_insertion_order_never_changes_the_bytes(mapping: dict[str, object], rnd: object) -> None:
    items = list(mapping.items())
    rnd.shuffle(items)  # type: ignore[attr-defined]
    shuffled = dict(items)
    encoded = encode_body(mapping)
    assert encoded == encode_body(shuffled)
    assert hashlib.sha256(encoded).digest() == hashlib.sha256(encode_body(dict(sorted(items)))).digest()
