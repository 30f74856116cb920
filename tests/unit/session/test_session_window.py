"""Session windows from the real exchange calendars (CME for MES, XNYS, 24/7), holidays and early closes."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest

import tradebot
from tradebot.domain.calendars import Calendars
from tradebot.exit_codes import ExitCode
from tradebot.risk.constitution import load_constitution
from tradebot.session import (
    MarketClosed,
    RegularHours,
    SessionSpecError,
    parse_session_spec,
    regular_hours_of,
    session_window,
)


@pytest.fixture(scope="module")
def calendars() -> Calendars:
    return Calendars(start="2013-01-01", end="2025-12-31")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize("text", ["rth", "eth", "24h", " rth "])
def test_parse_plain_kinds(text: str) -> None:
    assert parse_session_spec(text).kind == text.strip()


@pytest.mark.parametrize(
    ("text", "until", "tz"),
    [
        ("until=15:55America/New_York", time(15, 55), "America/New_York"),
        ("until=21:00Z", time(21, 0), "UTC"),
        ("until=21:00UTC", time(21, 0), "UTC"),
        ("until=00:00", time(0, 0), None),
    ],
)
def test_parse_until(text: str, until: time, tz: str | None) -> None:
    spec = parse_session_spec(text)
    assert (spec.kind, spec.until, spec.tz) == ("until", until, tz)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("RTH", "'RTH' is not a session spec"),
        ("until=9:30", "'until=9:30' is not a session spec"),
        ("until=24:00Z", "24:00 is not a time of day"),
        ("until=12:60Z", "12:60 is not a time of day"),
        ("until=12:00Mars/Olympus", "unknown timezone 'Mars/Olympus'"),
        ("", "'' is not a session spec"),
    ],
)
def test_bad_specs_are_named(text: str, fragment: str) -> None:
    with pytest.raises(SessionSpecError) as info:
        parse_session_spec(text)
    assert fragment in str(info.value)
    assert "rth | eth | 24h | until=HH:MM[TZ]" in str(info.value) or "time of day" in str(info.value)
    assert info.value.exit_code is ExitCode.CONFIG_ERROR


def test_mes_rth_before_the_open_is_today_09_30_to_16_00_new_york(calendars: Calendars) -> None:
    window = session_window("rth", "CME", utc("2013-10-07T08:00:00-04:00"), calendars)
    assert window.open == utc("2013-10-07T09:30:00-04:00")
    assert window.close == utc("2013-10-07T16:00:00-04:00")
    assert (window.kind, window.calendar, window.day.isoformat()) == ("rth", "CME", "2013-10-07")


def test_mes_rth_in_winter_time_follows_dst(calendars: Calendars) -> None:
    window = session_window("rth", "CME", utc("2013-12-02T09:00:00-05:00"), calendars)
    assert (window.open, window.close) == (utc("2013-12-02T14:30:00Z"), utc("2013-12-02T21:00:00Z"))


def test_mes_rth_early_close_day_after_thanksgiving(calendars: Calendars) -> None:
    # CME equity futures close 12:15 Chicago (13:15 New York) on 2013-11-29
    window = session_window("rth", "CME", utc("2013-11-29T09:00:00-05:00"), calendars)
    assert window.open == utc("2013-11-29T09:30:00-05:00")
    assert window.close == utc("2013-11-29T12:00:00-06:00")
    assert window.close < utc("2013-11-29T16:00:00-05:00")


def test_mes_rth_after_the_close_is_market_closed(calendars: Calendars) -> None:
    with pytest.raises(MarketClosed) as info:
        session_window("rth", "CME", utc("2013-10-07T16:30:00-04:00"), calendars)
    assert "MARKET_CLOSED" in str(info.value)
    assert info.value.exit_code is ExitCode.OK


@pytest.mark.parametrize(
    ("calendar", "when"),
    [
        ("CME", "2013-12-25T08:00:00-05:00"),  # Christmas
        ("XNYS", "2013-12-25T08:00:00-05:00"),
        ("XNYS", "2024-01-15T08:00:00-05:00"),  # MLK day: NYSE closed
        ("XNYS", "2013-10-05T08:00:00-04:00"),  # Saturday
        ("CME", "2013-10-05T08:00:00-04:00"),
    ],
)
def test_holidays_and_weekends_are_market_closed(calendars: Calendars, calendar: str, when: str) -> None:
    with pytest.raises(MarketClosed) as info:
        session_window("rth", calendar, utc(when), calendars)
    assert info.value.next_open is not None
    assert info.value.next_open > utc(when)


def test_mes_eth_sunday_afternoon_waits_for_the_globex_open(calendars: Calendars) -> None:
    # Sunday 16:30 Chicago: Monday's session opens 17:00 Chicago the same local day
    window = session_window("eth", "CME", utc("2013-10-06T16:30:00-05:00"), calendars)
    assert window.open == utc("2013-10-06T17:00:00-05:00")
    assert window.day.isoformat() == "2013-10-07"
    assert window.close > utc("2013-10-07T15:00:00-05:00")


def test_mes_eth_friday_after_the_close_is_market_closed(calendars: Calendars) -> None:
    with pytest.raises(MarketClosed):
        session_window("eth", "CME", utc("2013-10-04T18:30:00-05:00"), calendars)


def test_mes_eth_in_progress_returns_the_running_session(calendars: Calendars) -> None:
    now = utc("2013-10-08T03:00:00Z")
    window = session_window("eth", "CME", now, calendars)
    assert window.contains(now)
    assert window.day.isoformat() == "2013-10-08"


def test_xnys_rth_is_the_exchange_session_with_early_close(calendars: Calendars) -> None:
    window = session_window("rth", "XNYS", utc("2024-07-03T08:00:00-04:00"), calendars)
    assert window.open == utc("2024-07-03T09:30:00-04:00")
    assert window.close == utc("2024-07-03T13:00:00-04:00")


def test_until_new_york_on_cme_runs_from_the_globex_open(calendars: Calendars) -> None:
    window = session_window("until=15:55America/New_York", "CME", utc("2013-10-07T08:00:00-04:00"), calendars)
    assert window.open == utc("2013-10-06T17:00:00-05:00")
    assert window.close == utc("2013-10-07T15:55:00-04:00")


def test_until_after_the_exchange_close_is_capped(calendars: Calendars) -> None:
    window = session_window("until=21:00Z", "XNYS", utc("2024-07-03T08:00:00-04:00"), calendars)
    assert window.close == utc("2024-07-03T13:00:00-04:00")


def test_until_already_past_is_market_closed(calendars: Calendars) -> None:
    with pytest.raises(MarketClosed):
        session_window("until=15:55America/New_York", "CME", utc("2013-10-07T16:10:00-04:00"), calendars)


def test_crypto_24h_runs_from_now(calendars: Calendars) -> None:
    now = utc("2022-12-13T00:00:05Z")
    window = session_window("24h", "24/7", now, calendars)
    assert (window.open, window.close) == (now, utc("2022-12-14T00:00:05Z"))


def test_crypto_until_is_the_next_such_time(calendars: Calendars) -> None:
    now = utc("2022-12-13T00:00:05Z")
    assert session_window("until=23:55Z", "24/7", now, calendars).close == utc("2022-12-13T23:55:00Z")
    late = utc("2022-12-13T23:58:00Z")
    assert session_window("until=23:55Z", "24/7", late, calendars).close == utc("2022-12-14T23:55:00Z")
    exact = utc("2022-12-13T23:55:00Z")
    assert session_window("until=23:55Z", "24/7", exact, calendars).close == utc("2022-12-14T23:55:00Z")


@pytest.mark.parametrize("spec", ["rth", "eth"])
def test_crypto_has_no_rth_or_eth(calendars: Calendars, spec: str) -> None:
    with pytest.raises(SessionSpecError, match="24/7"):
        session_window(spec, "24/7", utc("2022-12-13T00:00:00Z"), calendars)


def test_unknown_calendar_is_a_spec_error(calendars: Calendars) -> None:
    with pytest.raises(SessionSpecError, match="NOPE"):
        session_window("rth", "NOPE", utc("2013-10-07T12:00:00Z"), calendars)


def test_regular_hours_from_the_constitution_override_the_default(calendars: Calendars) -> None:
    hours = RegularHours("America/New_York", time(10, 0), time(15, 0))
    window = session_window("rth", "CME", utc("2013-10-07T08:00:00-04:00"), calendars, regular_hours=hours)
    assert (window.open, window.close) == (utc("2013-10-07T10:00:00-04:00"), utc("2013-10-07T15:00:00-04:00"))


def test_naive_now_is_refused(calendars: Calendars) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        session_window("rth", "CME", datetime(2013, 10, 7, 12, 0), calendars)


def test_window_as_dict_is_plain_json(calendars: Calendars) -> None:
    body = session_window("rth", "CME", utc("2013-10-07T08:00:00-04:00"), calendars).as_dict()
    assert body == {"open": "2013-10-07T13:30:00+00:00", "close": "2013-10-07T20:00:00+00:00", "kind": "rth",
                    "calendar": "CME", "spec": "rth", "day": "2013-10-07"}


def test_regular_hours_of_the_real_mes_constitution(calendars: Calendars) -> None:
    root = Path(tradebot.__file__).resolve().parents[2]
    constitution = load_constitution(root / "config" / "constitution.yaml")
    hours = regular_hours_of(constitution.rules_for("MES").session)
    assert hours == RegularHours("America/New_York", time(9, 30), time(16, 0))
    window = session_window("rth", "CME", utc("2013-10-07T08:00:00-04:00"), calendars, regular_hours=hours)
    assert window.open == utc("2013-10-07T09:30:00-04:00")
    assert regular_hours_of(constitution.rules_for("BTCUSDT").session) is None  # the default: no RTH
