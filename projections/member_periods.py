"""Reporting periods of profiles and rankings: this week / month / quarter, up to a day.

A period is the calendar week (Monday first), month or quarter holding ``as_of``, cut at
``as_of`` itself: asked on 15 May, "this quarter" is 1 April to 15 May, the figures a
supervisor would have seen that evening.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal, get_args

__all__ = ["PERIODS", "Period", "period_window"]

Period = Literal["week", "month", "quarter"]
PERIODS: tuple[str, ...] = get_args(Period)


def period_window(as_of: date, period: Period) -> tuple[date, date]:
    """First day of the period holding ``as_of``, and ``as_of`` (both inclusive)."""
    if period == "week":
        return as_of - timedelta(days=as_of.weekday()), as_of
    if period == "month":
        return as_of.replace(day=1), as_of
    first_month = 3 * ((as_of.month - 1) // 3) + 1
    return as_of.replace(month=first_month, day=1), as_of
