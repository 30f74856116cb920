"""Pure parts of the IBKR plugin: config, error mapping, backoff, roll rule, 5 s → bar aggregation."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibkr_fake_tws import split_into_5s
from tradebot_ibkr import CAPABILITIES, create_broker, plugin
from tradebot_ibkr import errors as E
from tradebot_ibkr.config import load_config
from tradebot_ibkr.connection import Backoff, in_restart_window
from tradebot_ibkr.data import BarAggregator
from tradebot_ibkr.execution import build_legs
from tradebot_ibkr.instruments import FutureSpec, choose_front_month, parse_expiry, spec_from_details

from tradebot.brokers.protocol import Broker, BrokerPlugin
from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.clock import WallClock
from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory
from tradebot.domain.orders import Bracket, OrderRequest, OrderType, Side, TimeInForce

pytestmark = pytest.mark.timeout(30)


# --- config and plugin ---------------------------------------------------------------------------------


def test_config_defaults_and_unknown_key_is_named() -> None:
    cfg = load_config({"port": 4002, "client_id": 3})
    assert (cfg.host, cfg.port, cfg.client_id, cfg.bar_size_s, cfg.roll_days) == ("127.0.0.1", 4002, 3, 60, 8)
    with pytest.raises(ValueError, match=r"broker\.ibkr\.clientid: unknown key"):
        load_config({"clientid": 3})


def test_config_lists_every_bad_value_at_once() -> None:
    with pytest.raises(ValueError) as info:
        load_config({"port": 0, "bar_size_s": 7, "nightly_restart_utc": "25:00"})
    text = str(info.value)
    assert "broker.ibkr.port" in text and "broker.ibkr.bar_size_s" in text and "nightly_restart_utc" in text


def test_plugin_is_registered_and_builds_a_broker() -> None:
    (ep,) = [e for e in entry_points(group="tradebot.brokers") if e.name == "ibkr"]
    loaded = ep.load()
    assert loaded is plugin and isinstance(plugin, BrokerPlugin)
    assert plugin.client_libraries == ("ib_async",) and plugin.capabilities.brackets
    assert CAPABILITIES.native_cancel_all and OrderType.STOP in CAPABILITIES.order_types

    async def build() -> Broker:
        return create_broker({"port": 7497}, WallClock())

    broker = asyncio.run(build())
    assert isinstance(broker, Broker) and broker.name == "ibkr"
    with pytest.raises(ValueError, match="unknown key"):
        create_broker({"prot": 1}, WallClock())


# --- errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "category", "shared", "reason"),
    [
        (201, ErrorCategory.ORDER_REJECTED, reasons.ORDER_REJECTED, E.IB_ORDER_REJECTED),
        (202, ErrorCategory.BROKER_STATE, reasons.BROKER_STATE_ERROR, E.IB_ORDER_CANCELED),
        (10147, ErrorCategory.BROKER_STATE, reasons.BROKER_STATE_ERROR, E.IB_UNKNOWN_ORDER),
        (200, ErrorCategory.BAD_DATA, E.IB_NO_SECURITY_DEFINITION, E.IB_NO_SECURITY_DEFINITION),
        (162, ErrorCategory.BAD_DATA, E.IB_MARKET_DATA_ERROR, E.IB_MARKET_DATA_ERROR),
        (366, ErrorCategory.BAD_DATA, E.IB_MARKET_DATA_ERROR, E.IB_MARKET_DATA_ERROR),
        (100, ErrorCategory.RATE_LIMIT, reasons.RATE_LIMIT_RETRY, E.IB_PACING_VIOLATION),
        (420, ErrorCategory.RATE_LIMIT, reasons.RATE_LIMIT_RETRY, E.IB_PACING_VIOLATION),
        (1100, ErrorCategory.TRANSIENT_NETWORK, reasons.NET_RETRY, E.IB_CONNECTIVITY_LOST),
        (326, ErrorCategory.AUTH, reasons.AUTH_HALT, E.IB_DUPLICATE_CLIENT_ID),
        (10141, ErrorCategory.AUTH, reasons.AUTH_HALT, E.IB_PERMISSION_DENIED),
        (502, ErrorCategory.TRANSIENT_NETWORK, reasons.NET_RETRY, E.IB_NOT_CONNECTED),
        (504, ErrorCategory.TRANSIENT_NETWORK, reasons.NET_RETRY, E.IB_NOT_CONNECTED),
        (99999, ErrorCategory.UNKNOWN, E.IB_ERROR, E.IB_ERROR),
    ],
)
def test_ib_codes_map_onto_the_taxonomy(code: int, category: ErrorCategory, shared: str, reason: str) -> None:
    cls = E.classify_error(E.IbkrApiError(code, "text", 5))
    assert cls is not None and (cls.category, cls.code) == (category, shared)
    assert (cls.details["ib_code"], cls.details["ib_reason"]) == (code, reason)
    assert reason in E.ALL_IB_CODES


def test_classify_request_errors_timeouts_and_foreign_exceptions() -> None:
    from ib_async import RequestError

    assert E.classify_error(RequestError(3, 420, "pacing")).code == reasons.RATE_LIMIT_RETRY  # type: ignore[union-attr]
    timeout = E.classify_error(TimeoutError())
    assert (
        timeout is not None
        and timeout.action is ErrorAction.RETRY
        and timeout.details["ib_reason"] == E.IB_REQUEST_TIMEOUT
    )
    assert E.classify_error(ConnectionResetError()).code == reasons.NET_RETRY  # type: ignore[union-attr]
    assert E.classify_error(KeyError("x")) is None
    wrapped = BrokerError("x", E.classify_ib_code(326))
    assert E.classify_error(wrapped) is wrapped.error_class
    assert E.classify_ib_code(100).retry_after_s == 1.0


# --- connection policy -----------------------------------------------------------------------------------


def test_backoff_grows_exponentially_caps_and_jitters_within_bounds() -> None:
    backoff = Backoff(initial_s=1.0, max_s=30.0, factor=2.0, jitter=0.2)
    assert [backoff.delay(n, 0.5) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    rng = random.Random(7)
    samples = [backoff.delay(3, rng.random()) for _ in range(200)]
    assert min(samples) >= 8 * 0.8 and max(samples) <= 8 * 1.2 and len(set(samples)) > 100


def test_restart_window_wraps_midnight() -> None:
    at = datetime(2026, 11, 21, 23, 55, tzinfo=UTC)
    assert in_restart_window(at, restart_minute_of_day=5, window_min=15)
    assert not in_restart_window(at, restart_minute_of_day=5 * 60 + 45, window_min=20)
    assert in_restart_window(at.replace(hour=5, minute=50), 5 * 60 + 45, 20)


# --- instruments -----------------------------------------------------------------------------------------


def spec(expiry: date, con_id: int = 1) -> FutureSpec:
    return FutureSpec(con_id, "MES", f"MES{expiry:%m}", expiry, "CME", "USD", Decimal("0.25"), Decimal(5))


def test_front_month_rolls_by_days_to_expiry() -> None:
    dec, mar = spec(date(2026, 12, 18), 1), spec(date(2027, 3, 19), 2)
    assert choose_front_month([mar, dec], date(2026, 12, 9), roll_days=8) is dec  # 9 days left
    assert choose_front_month([mar, dec], date(2026, 12, 10), roll_days=8) is mar  # 8 days left: rolled
    assert choose_front_month([mar, dec], date(2026, 12, 17), roll_days=0) is dec
    with pytest.raises(ValueError, match="no contract expires"):
        choose_front_month([dec], date(2026, 12, 18), roll_days=0)


def test_contract_details_become_a_spec_and_bad_ones_are_named() -> None:
    contract = SimpleNamespace(
        conId=9,
        symbol="MES",
        localSymbol="MESZ6",
        lastTradeDateOrContractMonth="20261218",
        exchange="CME",
        currency="USD",
        multiplier="5",
    )
    details = SimpleNamespace(contract=contract, minTick=0.25, minSize=1.0, sizeIncrement=1.0)
    got = spec_from_details(details)
    assert (got.min_tick, got.multiplier, got.size_increment, got.expiry) == (
        Decimal("0.25"),
        Decimal(5),
        Decimal(1),
        date(2026, 12, 18),
    )
    with pytest.raises(ValueError, match="minTick"):
        spec_from_details(SimpleNamespace(contract=contract, minTick=0.0))
    with pytest.raises(ValueError, match="YYYYMMDD"):
        parse_expiry("202612")


# --- order mapping ---------------------------------------------------------------------------------------


def request(order_type: OrderType, **kw: object) -> OrderRequest:
    return OrderRequest("c-1", "i-1", "MES", Side.BUY, Decimal(2), order_type, datetime.now(UTC), **kw)  # type: ignore[arg-type]


def test_order_types_map_to_ib_orders_with_order_ref() -> None:
    ids = iter(range(10, 20))
    (leg,) = build_legs(
        request(
            OrderType.STOP_LIMIT,
            limit_price=Decimal("5801.25"),
            stop_price=Decimal("5800"),
            tif=TimeInForce.GTC,
        ),
        "DU1",
        lambda: next(ids),
    )
    o = leg.order
    assert (o.orderId, o.orderType, o.lmtPrice, o.auxPrice, o.tif, o.orderRef, o.account, o.transmit) == (
        10,
        "STP LMT",
        5801.25,
        5800.0,
        "GTC",
        "c-1",
        "DU1",
        True,
    )
    (trail,) = build_legs(request(OrderType.TRAILING_STOP, trail_amount=Decimal("2.5")), "", lambda: 1)
    assert (trail.order.orderType, trail.order.auxPrice) == ("TRAIL", 2.5)
    with pytest.raises(ValueError, match="limit_price"):
        build_legs(request(OrderType.LIMIT), "", lambda: 1)


def test_bracket_legs_share_an_oca_group_and_only_the_stop_transmits() -> None:
    ids = iter(range(100, 110))
    legs = build_legs(
        request(
            OrderType.LIMIT,
            limit_price=Decimal(5800),
            bracket=Bracket(stop_loss=Decimal(5795), take_profit=Decimal(5810)),
        ),
        "",
        lambda: next(ids),
    )
    assert [
        (leg.client_order_id, leg.order.orderType, leg.order.action, leg.order.transmit) for leg in legs
    ] == [("c-1", "LMT", "BUY", False), ("c-1-tp", "LMT", "SELL", False), ("c-1-sl", "STP", "SELL", True)]
    assert [leg.order.parentId for leg in legs] == [0, 100, 100]
    assert {leg.order.ocaGroup for leg in legs[1:]} == {"oca-c-1"} and legs[1].order.ocaType == 1
    stop_only = build_legs(request(OrderType.MARKET, bracket=Bracket(stop_loss=Decimal(5795))), "", lambda: 1)
    assert [leg.order.transmit for leg in stop_only] == [False, True]


# --- aggregation -----------------------------------------------------------------------------------------


def test_aggregator_closes_on_the_last_sub_bar_and_counts_gaps() -> None:
    agg = BarAggregator("MES", 60)
    t0 = int(datetime(2026, 11, 20, 14, 30, tzinfo=UTC).timestamp())
    out = []
    for i in range(12):
        if i == 5:
            continue  # one 5 s bar missing
        out += agg.add(t0 + 5 * i, 100 + i, 101 + i, 99 + i, 100.5 + i, 1)
    assert len(out) == 1 and (out[0].open, out[0].high, out[0].low, out[0].close) == (100, 112, 99, 111.5)
    assert out[0].volume == 11 and out[0].interval_s == 60
    assert agg.quality.missing_sub_bars == 1 and agg.quality.incomplete_bars == 1
    assert agg.add(t0 + 55, 1, 1, 1, 1, 1) == [] and agg.quality.dropped_late == 1  # duplicate
    # a bar whose last 5 s bar never comes is emitted when the next bucket starts
    assert agg.add(t0 + 60, 5, 6, 4, 5, 2) == []
    late = agg.add(t0 + 125, 7, 8, 6, 7, 3)
    assert [b.ts for b in late] == [datetime(2026, 11, 20, 14, 31, tzinfo=UTC)]
    with pytest.raises(ValueError):
        BarAggregator("MES", 61)


@settings(max_examples=60, deadline=None)
@given(
    o=st.integers(4000, 6000),
    up=st.integers(0, 40),
    down=st.integers(0, 40),
    c_off=st.integers(-40, 40),
    volume=st.integers(0, 50_000),
    size=st.sampled_from([5, 15, 60, 300]),
)
def test_split_then_aggregate_round_trips(
    o: int, up: int, down: int, c_off: int, volume: int, size: int
) -> None:
    tick = 0.25  # prices on the MES grid, in ticks
    high, low, close = (o + up) * tick, (o - down) * tick, (o + min(max(c_off, -down), up)) * tick
    bar = Bar(
        "MES", datetime(2026, 11, 20, 14, 30, tzinfo=UTC), o * tick, high, low, close, float(volume), size
    )
    agg = BarAggregator("MES", size)
    out = []
    for ts, *ohlcv in split_into_5s(bar):
        out += agg.add(ts, *ohlcv)
    assert out == [bar]


def test_bars_of_a_minute_roll_over_into_the_next_hour() -> None:
    agg = BarAggregator("MES", 3600)
    start = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    bars = []
    for i in range(0, 2 * 3600, 5):
        ts = int((start + timedelta(seconds=i)).timestamp())
        bars += agg.add(ts, 1.0, 2.0, 0.5, 1.5, 1.0)
    assert [b.ts.hour for b in bars] == [14, 15] and all(b.volume == 720 for b in bars)


def test_standalone_fake_loads_and_shifts_a_bar_file(tmp_path: Path) -> None:
    from ibkr_fake_tws import load_bar_file, shift_to_now

    path = tmp_path / "bars.csv"
    path.write_text(
        "ts,open,high,low,close,volume\n2013-10-07T13:30:00Z,1,2,0.5,1.5,10\n"
        "2013-10-07T13:31:00Z,1.5,2,1,1.75,5\n"
    )
    bars = load_bar_file(str(path), "MES")
    assert [(b.ts.minute, b.close, b.interval_s) for b in bars] == [(30, 1.5, 60), (31, 1.75, 60)]
    now = datetime(2026, 11, 21, 16, 45, 30, tzinfo=UTC)
    shifted = shift_to_now(bars, now)
    assert shifted[-1].end == datetime(2026, 11, 21, 16, 45, tzinfo=UTC)
    assert shifted[1].ts - shifted[0].ts == timedelta(minutes=1)
    path.write_text("ts,open,high,low,close,volume\nnot-a-time,1,2,0.5,1.5,10\n")
    with pytest.raises(ValueError, match=r"bars\.csv:2: bad bar row"):
        load_bar_file(str(path), "MES")
