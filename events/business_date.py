"""The business date: which day an instant belongs to, in the deployment's one time zone.

Every date the system decides — a default ``effective_from``, the day an award is credited,
the Beijing day a visit counts for, a period's first and last instant, the SLA working day —
is the date *in the business zone* (Asia/Shanghai unless the deployment says otherwise with
``GRIDLEDGER_BUSINESS_TIMEZONE``), never the UTC date and never the phone's zone. Between
00:00 and 08:00 Beijing the UTC date is still yesterday: deciding a date in UTC there put a
household's move before its own registration and dated an award a day early.

Instants stay instants (aware ``datetime``, stored and sent in UTC); only their *date* goes
through this module. The zone is an IANA name so PostgreSQL can use the same one
(``AT TIME ZONE``) where a query cuts by day.
"""

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from events.errors import InvalidValue
from events.validation import ensure_aware

__all__ = [
    "DEFAULT_BUSINESS_ZONE",
    "business_day",
    "business_zone",
    "day_after_start",
    "day_start",
]

DEFAULT_BUSINESS_ZONE: Final = "Asia/Shanghai"
# The first and last days whose bounds are instants Python (and so asyncpg) can hold in UTC in
# any zone; a filter reaching past them (0001-01-01, 9999-12-31) is clamped to them: no event
# lies that far out, and a bound outside would be an OverflowError, not an empty answer.
_FIRST_DAY: Final = date.min + timedelta(days=1)
_LAST_DAY: Final = date.max - timedelta(days=2)


def business_zone(name: str) -> ZoneInfo:
    """The zone named ``name`` (an IANA name such as ``Asia/Shanghai``); InvalidValue else."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(
            f"unknown time zone {name!r}: use an IANA name such as {DEFAULT_BUSINESS_ZONE}",
            field="business_timezone",
        ) from None


def business_day(moment: datetime, zone: tzinfo) -> date:
    """The business date of an instant (a naive instant is refused: it names no day)."""
    return ensure_aware(moment, field="moment").astimezone(zone).date()


def day_start(day: date, zone: tzinfo) -> datetime:
    """The first instant of the business day ``day`` (local midnight, timezone-aware)."""
    return datetime.combine(min(max(day, _FIRST_DAY), _LAST_DAY), time(), zone)


def day_after_start(day: date, zone: tzinfo) -> datetime:
    """The first instant after the business day ``day``: its exclusive end."""
    return day_start(min(day, _LAST_DAY - timedelta(days=1)) + timedelta(days=1), zone)
