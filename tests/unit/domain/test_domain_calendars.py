from datetime import UTC, date, datetime

import pytest

from tradebot.domain.calendars import CalendarError, Calendars, shared_calendars

CAL = shared_calendars()


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_cme_holidays_have_no_session() -> None:
    for holiday in (date(2024, 12, 25), date(2024, 3, 29), date(2024, 1, 1)):
        assert CAL.session("CME", holiday) is None
    assert not CAL.is_open("CME", _at(2024, 12, 25, 15, 0))
    assert CAL.is_open("CME", _at(2024, 12, 26, 15, 0))


def test_cme_early_closes() -> None:  # Thanksgiving, the day after, July 4th: 12:00 Chicago
    for day, close in [
        (date(2024, 11, 28), _at(2024, 11, 28, 18)),
        (date(2024, 11, 29), _at(2024, 11, 29, 18)),
        (date(2024, 7, 4), _at(2024, 7, 4, 17)),
    ]:
        session = CAL.session("CME", day)
        assert session is not None and session.close == close
    assert CAL.is_open("CME", _at(2024, 11, 29, 17, 59)) and not CAL.is_open("CME", _at(2024, 11, 29, 18, 0))


def test_nyse_holiday_and_early_close() -> None:
    assert CAL.session("XNYS", date(2024, 7, 4)) is None
    session = CAL.session("XNYS", date(2024, 7, 3))
    assert session is not None and session.close == _at(2024, 7, 3, 17)  # 13:00 EDT


def test_cme_sunday_open_follows_dst() -> None:
    # 17:00 Chicago: 23:00 UTC in CST, 22:00 UTC in CDT (switch on Sunday 2024-03-10, back on 2024-11-03)
    assert not CAL.is_open("CME", _at(2024, 3, 3, 22, 30)) and CAL.is_open("CME", _at(2024, 3, 3, 23, 0))
    assert CAL.is_open("CME", _at(2024, 3, 10, 22, 0)) and not CAL.is_open("CME", _at(2024, 3, 10, 21, 59))
    assert not CAL.is_open("CME", _at(2024, 11, 3, 22, 30)) and CAL.is_open("CME", _at(2024, 11, 3, 23, 0))


def test_session_day_of_the_evening_session_is_the_next_date() -> None:
    assert CAL.session_day("CME", _at(2024, 3, 10, 23, 0)) == date(2024, 3, 11)
    assert CAL.session_day("CME", _at(2024, 3, 9, 12, 0)) == date(2024, 3, 11)  # Saturday: next session
    assert CAL.session_day("XNYS", _at(2024, 3, 12, 15, 0)) == date(2024, 3, 12)
    assert CAL.session_day("24/7", _at(2024, 3, 10, 23, 59)) == date(2024, 3, 10)
    assert CAL.is_open("24/7", _at(2024, 12, 25, 0, 0))


def test_bundled_es_week_2013() -> None:
    assert CAL.is_open("CME", _at(2013, 10, 7, 14, 0)) and not CAL.is_open("CME", _at(2013, 10, 5, 14, 0))


def test_bad_codes_and_times_are_errors() -> None:
    with pytest.raises(CalendarError, match="NOPE"):
        Calendars().validate("NOPE")
    with pytest.raises(CalendarError, match="timezone-aware"):
        CAL.is_open("CME", datetime(2024, 3, 12, 15, 0))
    with pytest.raises(CalendarError, match="outside its known range"):
        CAL.is_open("CME", _at(1985, 1, 2))  # before the calendars start (1990)
