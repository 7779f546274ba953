"""The working calendar: 2025–2026 holidays and make-up days, windows, overrides, fallback."""

from datetime import UTC, date, datetime, timedelta

import pytest

from events import CHINA_TZ, InvalidValue, WorkingCalendar, YearOverride, china_calendar

CAL = china_calendar()


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=CHINA_TZ)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 1, 1), False),  # 元旦
        (date(2025, 1, 26), True),  # Sunday make-up day
        (date(2025, 1, 27), True),
        (date(2025, 1, 28), False),  # 春节
        (date(2025, 2, 4), False),
        (date(2025, 2, 8), True),  # Saturday make-up day
        (date(2025, 10, 8), False),
        (date(2025, 10, 11), True),
        (date(2026, 1, 4), True),  # Sunday make-up day
        (date(2026, 2, 23), False),  # 春节 (a Monday)
        (date(2026, 6, 19), False),  # 端午
        (date(2026, 9, 20), True),  # Sunday make-up day
        (date(2026, 9, 25), False),  # 中秋
        (date(2026, 10, 1), False),  # 国庆 (a Thursday)
        (date(2026, 10, 10), True),  # Saturday make-up day
        (date(2026, 10, 11), False),  # an ordinary Sunday
        (date(2026, 10, 12), True),
    ],
)
def test_built_in_days(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


def test_a_year_without_data_falls_back_to_monday_to_friday() -> None:
    assert CAL.covered(2025)
    assert CAL.covered(2026)
    assert not CAL.covered(2027)
    assert CAL.is_working_day(date(2027, 1, 1))  # a Friday: New Year unknown without data
    assert not CAL.is_working_day(date(2027, 1, 2))


def test_an_override_covers_a_new_year_and_replaces_built_in_data() -> None:
    cal = china_calendar(
        {
            2027: YearOverride(holidays=frozenset({date(2027, 1, 1)})),
            2026: YearOverride(makeup_days=frozenset({date(2026, 10, 11)})),
        }
    )
    assert cal.covered(2027)
    assert not cal.is_working_day(date(2027, 1, 1))
    # 2026's built-in holidays and make-up days are gone; only the override counts
    assert cal.is_working_day(date(2026, 10, 1))
    assert not cal.is_working_day(date(2026, 10, 10))
    assert cal.is_working_day(date(2026, 10, 11))
    assert cal.is_working_day(date(2025, 1, 1)) is False  # other years keep their data


def test_bad_overrides_are_refused() -> None:
    with pytest.raises(InvalidValue):
        china_calendar({2027: YearOverride(holidays=frozenset({date(2028, 1, 1)}))})
    both = frozenset({date(2027, 1, 2)})
    with pytest.raises(InvalidValue):
        china_calendar({2027: YearOverride(holidays=both, makeup_days=both)})
    with pytest.raises(InvalidValue):
        WorkingCalendar([date(2027, 1, 2)], [date(2027, 1, 2)])


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (at(2026, 3, 2, 8, 30), 3.5, at(2026, 3, 2, 12)),  # fills the morning, ends at 12:00
        (at(2026, 3, 2, 8, 30), 4, at(2026, 3, 2, 14)),
        (at(2026, 3, 2, 12, 30), 1, at(2026, 3, 2, 14, 30)),  # lunch break counts from 13:30
        (at(2026, 3, 2, 17), 4, at(2026, 3, 3, 12)),  # 0.5 h today, 3.5 h tomorrow
        (at(2026, 3, 2, 22), 4, at(2026, 3, 3, 14)),  # from the next window
        (at(2026, 3, 6, 17), 1, at(2026, 3, 9, 9)),  # Friday to Monday
        (at(2026, 3, 2, 22), 0, at(2026, 3, 2, 22)),
        (at(2026, 9, 30, 16), 4, at(2026, 10, 8, 11)),  # across 国庆
        (at(2026, 2, 13, 16), 4, at(2026, 2, 14, 11)),  # into the Saturday make-up day
    ],
)
def test_add_working_hours(start: datetime, hours: float, expected: datetime) -> None:
    assert CAL.add_working_hours(start, hours) == expected


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (at(2026, 3, 2, 10), 1, at(2026, 3, 3, 17, 30)),
        (at(2026, 3, 2, 17), 1, at(2026, 3, 3, 17, 30)),  # still inside Monday's window
        (at(2026, 3, 2, 17, 30), 1, at(2026, 3, 4, 17, 30)),  # closed: Tuesday is day 0
        (at(2026, 3, 2, 22), 1, at(2026, 3, 4, 17, 30)),
        (at(2026, 3, 7, 10), 1, at(2026, 3, 10, 17, 30)),  # a Saturday start
        (at(2026, 3, 2, 10), 0, at(2026, 3, 2, 17, 30)),
        (at(2026, 9, 30, 10), 3, at(2026, 10, 10, 17, 30)),  # Oct 8, 9 and Saturday Oct 10
        (at(2026, 9, 18, 10), 1, at(2026, 9, 20, 17, 30)),  # Sunday Sep 20 is a working day
        (at(2026, 2, 14, 10), 1, at(2026, 2, 24, 17, 30)),  # 春节 2026
        (at(2025, 1, 27, 10), 1, at(2025, 2, 5, 17, 30)),  # 春节 2025
        (at(2027, 1, 1, 10), 1, at(2027, 1, 4, 17, 30)),  # no data: Friday is a working day
    ],
)
def test_add_working_days(start: datetime, days: int, expected: datetime) -> None:
    assert CAL.add_working_days(start, days) == expected


def test_results_are_in_china_time_whatever_the_input_zone() -> None:
    start = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)  # 08:30 in Beijing
    result = CAL.add_working_hours(start, 1)
    assert result == at(2026, 3, 2, 9, 30)
    assert result.utcoffset() == timedelta(hours=8)


def test_working_hours_between() -> None:
    assert CAL.working_hours_between(at(2026, 3, 2, 8), at(2026, 3, 2, 18)) == 7.5
    assert CAL.working_hours_between(at(2026, 3, 6, 17), at(2026, 3, 9, 9)) == 1.0
    assert CAL.working_hours_between(at(2026, 9, 30, 8), at(2026, 10, 8, 9, 30)) == 8.5
    assert CAL.working_hours_between(at(2026, 3, 3), at(2026, 3, 2)) == 0.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: CAL.add_working_hours(at(2026, 3, 2, 9), -1),
        lambda: CAL.add_working_hours(at(2026, 3, 2, 9), float("nan")),
        lambda: CAL.add_working_days(at(2026, 3, 2, 9), -1),
        lambda: CAL.add_working_hours(datetime(2026, 3, 2, 9), 1),  # naive
    ],
)
def test_bad_arguments(call: object) -> None:
    with pytest.raises(InvalidValue):
        call()  # type: ignore[operator]


def test_a_calendar_without_working_days_fails_instead_of_looping() -> None:
    nothing = WorkingCalendar([], [], overrides={})
    nothing.is_working_day = lambda day: False  # type: ignore[method-assign]
    with pytest.raises(InvalidValue):
        nothing.add_working_hours(at(2026, 3, 2, 9), 1)


def test_the_years_without_data_between_two_days_are_named() -> None:
    # given the built-in data (2025-2026) and an admin's 2028
    cal = china_calendar({2028: YearOverride(holidays=frozenset({date(2028, 1, 1)}))})
    # then a span from December 2026 to January 2029 lacks 2027 and 2029 only
    assert cal.uncovered_years(date(2026, 12, 1), date(2029, 1, 31)) == (2027, 2029)
    assert cal.uncovered_years(date(2025, 3, 1), date(2026, 12, 31)) == ()
