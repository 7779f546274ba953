"""The server's clock: the one place "now" and "today" come from.

The container carries one :class:`Clock`. Every command and query asks it for today's business
date (``today()``: default effective dates, the award and points day, "as of" and "this period",
the board's window, ledger import, masking by age) and for the business date of an instant it
holds (``day_of()``: a phone's capture time, a visit time). Its ``zone`` is the deployment's
business zone (``GRIDLEDGER_BUSINESS_TIMEZONE``); projections take the same zone when they are
built, since they fold dates from event timestamps and cannot ask a clock.

Tests freeze it (:class:`FrozenClock`) to run a flow at 00:30 or 23:30 Beijing. Instants that
are not dates (event timestamps, token and URL expiry, ``server_time``) keep real UTC time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from events.business_date import business_day
from events.validation import ensure_aware

__all__ = ["Clock", "FrozenClock", "SystemClock"]


class Clock(Protocol):
    @property
    def zone(self) -> ZoneInfo:
        """The business zone every date is decided in."""
        ...

    def now(self) -> datetime:
        """The current instant (timezone-aware, UTC)."""
        ...

    def today(self) -> date:
        """The business date now."""
        ...

    def day_of(self, moment: datetime) -> date:
        """The business date of ``moment``."""
        ...


class _BusinessDays:
    """``today`` and ``day_of`` from ``now`` and ``zone``: the same rule for every clock."""

    zone: ZoneInfo

    def now(self) -> datetime:
        raise NotImplementedError

    def today(self) -> date:
        return business_day(self.now(), self.zone)

    def day_of(self, moment: datetime) -> date:
        return business_day(moment, self.zone)


class SystemClock(_BusinessDays):
    """The machine's clock, read in UTC."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock(_BusinessDays):
    """A clock that reads ``at`` until it is moved (tests)."""

    def __init__(self, at: datetime, zone: ZoneInfo) -> None:
        self.zone = zone
        self._at = ensure_aware(at, field="at").astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, span: timedelta) -> None:
        self._at += span
