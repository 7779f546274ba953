"""Assessment periods (考核周期): quarterly, monthly and bi-weekly, named by stable ids.

* ``2026-Q3`` — a quarter;
* ``2026-07`` — a month;
* ``2026-W27-28`` — a bi-week: two consecutive ISO weeks of one ISO year, starting on an odd
  week (W01-02, W03-04, …). In a year of 53 ISO weeks the last period is the single week
  ``W53-53``, so every day belongs to exactly one bi-week. (A dash, not ``W27/28``: the id
  travels as one URL path segment, and a slash would split it.)

Days are business days in the deployment's business zone, Asia/Shanghai by default (a visit at
00:30 Beijing time on 1 July belongs to July, not to the UTC day, 30 June). ``end`` is
exclusive.
"""

import re
from datetime import date, datetime, timedelta, tzinfo
from typing import Final, Literal

import msgspec

from events.assessment_errors import InvalidPeriod
from events.business_date import day_start

__all__ = ["AssessmentPeriod", "PeriodKind", "parse_period"]

PeriodKind = Literal["quarter", "month", "biweek"]
_QUARTER: Final = re.compile(r"(\d{4})-Q([1-4])")
_MONTH: Final = re.compile(r"(\d{4})-(\d{2})")
_BIWEEK: Final = re.compile(r"(\d{4})-W(\d{2})-(\d{2})")
_YEARS: Final = range(2000, 2100)


class AssessmentPeriod(msgspec.Struct, frozen=True, kw_only=True):
    """A named period ``[start, end)`` of business days."""

    id: str
    kind: PeriodKind
    start: date
    end: date

    def starts_at(self, zone: tzinfo) -> datetime:
        """The first instant of the period: midnight of its first day in the business zone."""
        return day_start(self.start, zone)

    def ends_at(self, zone: tzinfo) -> datetime:
        """The first instant after the period (exclusive)."""
        return day_start(self.end, zone)

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


def _year(text: str, period_id: str) -> int:
    year = int(text)
    if year not in _YEARS:
        raise InvalidPeriod("period year must be 2000..2099", period=period_id)
    return year


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def _weeks_in(year: int) -> int:
    # 28 December always lies in the last ISO week of its year.
    return date(year, 12, 28).isocalendar().week


def _biweek(period_id: str, year: int, first: int, second: int) -> AssessmentPeriod:
    last = _weeks_in(year)
    single_last = first == second == 53 == last
    if not single_last and (first % 2 != 1 or second != first + 1 or second > last):
        raise InvalidPeriod(
            "a bi-week is two ISO weeks starting on an odd week (W53-53 alone in 53-week years)",
            period=period_id,
        )
    start = date.fromisocalendar(year, first, 1)
    end = date.fromisocalendar(year, second, 1) + timedelta(days=7)
    return AssessmentPeriod(id=period_id, kind="biweek", start=start, end=end)


def parse_period(period_id: str) -> AssessmentPeriod:
    """The period named ``period_id``; :class:`InvalidPeriod` (40075) for anything else."""
    if m := _QUARTER.fullmatch(period_id):
        year, q = _year(m[1], period_id), int(m[2])
        start, end = date(year, 3 * q - 2, 1), _month_start(year, 3 * q + 1)
        return AssessmentPeriod(id=period_id, kind="quarter", start=start, end=end)
    if m := _MONTH.fullmatch(period_id):
        year, month = _year(m[1], period_id), int(m[2])
        if not 1 <= month <= 12:
            raise InvalidPeriod("month must be 01..12", period=period_id)
        start, end = date(year, month, 1), _month_start(year, month + 1)
        return AssessmentPeriod(id=period_id, kind="month", start=start, end=end)
    if m := _BIWEEK.fullmatch(period_id):
        return _biweek(period_id, _year(m[1], period_id), int(m[2]), int(m[3]))
    raise InvalidPeriod(
        "period must look like 2026-Q3, 2026-07 or 2026-W27-28", period=period_id[:40]
    )
