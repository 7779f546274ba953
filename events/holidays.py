"""The working calendar for SLA deadlines (DESIGN §4): China, Asia/Shanghai.

Working time is 08:30–12:00 and 13:30–17:30 (7.5 hours) on working days. A day is a working
day when it is a make-up working day (调休上班), else when it is not a public holiday and falls
on Monday–Friday. Days and hours are local to the business zone the calendar is built with
(the server passes ``GRIDLEDGER_BUSINESS_TIMEZONE``); the default, :data:`CHINA_TZ`, is a fixed
UTC+8 offset, exact for Asia/Shanghai, which has had no DST since 1991.

Holiday data is per year. An admin override for a year replaces the built-in data for that
year as a whole (the State Council sometimes revises an arrangement). A year with neither data
nor override falls back to Monday–Friday and reports ``covered(year) is False`` so the caller
can warn that deadlines in that year ignore holidays, and mark such deadlines provisional.

The built-in data ends with 2026: the newest ``chinese-calendar`` package (1.11.0) ends there
too, and the 2027 arrangement (国务院办公厅关于2027年部分节假日安排的通知) is not entered until
its official text is at hand; an admin enters it as an override (``POST
/v1/reference/calendar/2027``) the day it is published. Dates are never guessed.
"""

import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Final

import msgspec

from events.errors import InvalidValue
from events.validation import ensure_aware

__all__ = [
    "CHINA_HOLIDAYS",
    "CHINA_MAKEUP_DAYS",
    "CHINA_TZ",
    "WORKING_DAY_HOURS",
    "WorkingCalendar",
    "YearOverride",
    "china_calendar",
]

CHINA_TZ: Final = timezone(timedelta(hours=8), "Asia/Shanghai")
_WINDOWS: Final = ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30)))
_DAY_END: Final = _WINDOWS[-1][1]
WORKING_DAY_HOURS: Final = 7.5
# A calendar whose data leaves no working day for ten years is broken; stop instead of looping.
_MAX_SCAN_DAYS: Final = 3660


def _span(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# 国务院办公厅 notices on the arrangement of public holidays for 2025 and for 2026
# (关于2025年部分节假日安排的通知 / 关于2026年部分节假日安排的通知).
CHINA_HOLIDAYS: Final[frozenset[date]] = frozenset(
    [
        date(2025, 1, 1),  # 元旦
        *_span(date(2025, 1, 28), date(2025, 2, 4)),  # 春节
        *_span(date(2025, 4, 4), date(2025, 4, 6)),  # 清明
        *_span(date(2025, 5, 1), date(2025, 5, 5)),  # 劳动节
        *_span(date(2025, 5, 31), date(2025, 6, 2)),  # 端午
        *_span(date(2025, 10, 1), date(2025, 10, 8)),  # 国庆、中秋
        *_span(date(2026, 1, 1), date(2026, 1, 3)),  # 元旦
        *_span(date(2026, 2, 15), date(2026, 2, 23)),  # 春节
        *_span(date(2026, 4, 4), date(2026, 4, 6)),  # 清明
        *_span(date(2026, 5, 1), date(2026, 5, 5)),  # 劳动节
        *_span(date(2026, 6, 19), date(2026, 6, 21)),  # 端午
        *_span(date(2026, 9, 25), date(2026, 9, 27)),  # 中秋
        *_span(date(2026, 10, 1), date(2026, 10, 7)),  # 国庆
    ]
)
CHINA_MAKEUP_DAYS: Final[frozenset[date]] = frozenset(
    [
        date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28),
        date(2025, 10, 11),
        date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
        date(2026, 9, 20), date(2026, 10, 10),
    ]
)  # fmt: skip


class YearOverride(msgspec.Struct, frozen=True, kw_only=True):
    """An admin's arrangement for one year; replaces the built-in data for that year."""

    holidays: frozenset[date] = frozenset()
    makeup_days: frozenset[date] = frozenset()


def _check_days(holidays: frozenset[date], makeup: frozenset[date], year: int | None) -> None:
    if holidays & makeup:
        raise InvalidValue("a day cannot be both a holiday and a make-up working day")
    if year is not None and any(d.year != year for d in holidays | makeup):
        raise InvalidValue("override dates must lie in their year", year=year)


class WorkingCalendar:
    """Working days and working-time arithmetic, local to ``zone``; results are in it."""

    def __init__(
        self,
        holidays: Iterable[date],
        makeup_days: Iterable[date],
        *,
        overrides: Mapping[int, YearOverride] | None = None,
        zone: tzinfo = CHINA_TZ,
    ) -> None:
        self.zone = zone
        self._holidays = frozenset(holidays)
        self._makeup = frozenset(makeup_days)
        _check_days(self._holidays, self._makeup, None)
        self._overrides = dict(overrides or {})
        for year, override in self._overrides.items():
            _check_days(override.holidays, override.makeup_days, year)
        self._data_years = {d.year for d in self._holidays | self._makeup}

    def covered(self, year: int) -> bool:
        """Whether holidays of ``year`` are known (data or override); else Mon–Fri is assumed."""
        return year in self._overrides or year in self._data_years

    def uncovered_years(self, first: date, last: date) -> tuple[int, ...]:
        """The years from ``first`` to ``last`` (inclusive) whose holidays are unknown."""
        return tuple(y for y in range(first.year, last.year + 1) if not self.covered(y))

    def is_working_day(self, day: date) -> bool:
        override = self._overrides.get(day.year)
        holidays = override.holidays if override else self._holidays
        makeup = override.makeup_days if override else self._makeup
        if day in makeup:
            return True
        return day not in holidays and day.weekday() < 5

    # -- arithmetic ------------------------------------------------------------------------

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The instant ``hours`` working hours after ``start``; 0 hours returns ``start``."""
        if not math.isfinite(hours) or hours < 0:
            raise InvalidValue("hours must be a finite number >= 0", field="hours")
        return self.add_working_time(start, timedelta(hours=hours))

    def add_working_time(self, start: datetime, span: timedelta) -> datetime:
        """Like :meth:`add_working_hours` with a timedelta (exact, no float rounding)."""
        remaining, moment = span, self._local(start, "start")
        if remaining <= timedelta(0):
            return moment
        for window_start, window_end in self._windows_from(moment):
            begin = max(moment, window_start)
            if remaining <= window_end - begin:
                # "<=": a span that fills a window ends at its close (12:00), not at 13:30.
                return begin + remaining
            remaining -= window_end - begin
        raise AssertionError("unreachable: _windows_from raises when it runs out")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """End (17:30) of the ``days``-th working day after the start day.

        A start outside working time counts from the next window, so the day of that window
        is the start day; the start day itself is never counted, whatever the hour.
        """
        if days < 0:
            raise InvalidValue("days must be >= 0", field="days")
        first_window_start, _ = next(self._windows_from(self._local(start, "start")))
        day, counted = first_window_start.date(), 0
        while counted < days:
            day = self._next_working_day(day)
            counted += 1
        return datetime.combine(day, _DAY_END, self.zone)

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time in ``[a, b]``; zero when ``b <= a``."""
        start, end = self._local(a, "a"), self._local(b, "b")
        total = timedelta(0)
        if end <= start:
            return total
        for window_start, window_end in self._windows_from(start):
            if window_start >= end:
                break
            total += min(end, window_end) - max(start, window_start)
        return total

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        return self.working_time_between(a, b) / timedelta(hours=1)

    # -- helpers ---------------------------------------------------------------------------

    def _next_working_day(self, day: date) -> date:
        for offset in range(1, _MAX_SCAN_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise InvalidValue("the calendar has no working day in ten years")

    def _windows_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working windows (local) that end after ``moment``, in order."""
        day = moment.date()
        for offset in range(_MAX_SCAN_DAYS):
            current = day + timedelta(days=offset)
            if not self.is_working_day(current):
                continue
            for opens, closes in _WINDOWS:
                window_end = datetime.combine(current, closes, self.zone)
                if window_end > moment:
                    yield datetime.combine(current, opens, self.zone), window_end
        raise InvalidValue("the calendar has no working day in ten years")

    def _local(self, moment: datetime, field: str) -> datetime:
        return ensure_aware(moment, field=field).astimezone(self.zone)


def china_calendar(
    overrides: Mapping[int, YearOverride] | None = None, *, zone: tzinfo = CHINA_TZ
) -> WorkingCalendar:
    """The calendar with the built-in 2025–2026 data and the admin's overrides, in ``zone``."""
    return WorkingCalendar(CHINA_HOLIDAYS, CHINA_MAKEUP_DAYS, overrides=overrides, zone=zone)
