"""Settings an admin manages as data: the SLA rule set and the holiday-calendar overrides.

Each is a singleton aggregate with a fixed id, so every API process reads and writes the same
stream and optimistic concurrency orders two admins' edits. Both are opened (created empty) on
first use and changed by whole-value commands: the rule set is replaced wholesale (an SLA policy
is judged as a whole; partial edits would pass through states no admin chose), and a year's
override replaces the built-in holiday data of that year as a whole (see
:mod:`events.holidays`).

An empty rule set means "no admin policy": the backend then uses
:data:`events.sla.DEFAULT_POLICY`. A policy with no rule at all would silently stop every SLA
clock, which is never what an admin means by removing their rules.
"""

from collections.abc import Iterable
from datetime import date
from typing import Final, Self
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from events.errors import InvalidValue
from events.holidays import YearOverride
from events.meta import EventMeta
from events.reference import REFERENCE_NAMESPACE
from events.sla import SlaPolicy, SlaRule

__all__ = [
    "CALENDAR_OVERRIDES_ID",
    "MAX_SLA_RULES",
    "SLA_RULES_ID",
    "YEAR_RANGE",
    "CalendarOverrides",
    "SlaRuleSet",
    "validate_sla_rules",
]

SLA_RULES_ID: Final = uuid5(REFERENCE_NAMESPACE, "sla-rules")
CALENDAR_OVERRIDES_ID: Final = uuid5(REFERENCE_NAMESPACE, "calendar-overrides")
# 4 levels x 6 stages x (default + a few dozen categories) is far below this; more is a mistake.
MAX_SLA_RULES: Final = 500
YEAR_RANGE: Final = range(2000, 2101)
_MAX_DAYS_IN_OVERRIDE: Final = 120


def validate_sla_rules(rules: Iterable[SlaRule]) -> tuple[SlaRule, ...]:
    """Positive limits, ``yellow_at < red_at`` (checked by :class:`SlaRule` itself) and at most
    one rule per (level, category, stage); returned in a canonical order so that replacing a
    set with the same rules in another order is a no-op."""
    checked = tuple(rules)
    if len(checked) > MAX_SLA_RULES:
        raise InvalidValue(f"at most {MAX_SLA_RULES} SLA rules", field="rules")
    for index, rule in enumerate(checked):
        # SlaRule allows 0 days (due the same day); an admin-set limit must give some time.
        if rule.limit_days is not None and rule.limit_days < 1:
            raise InvalidValue("limit_days must be >= 1", field="limit_days", index=index)
    SlaPolicy(rules=checked)  # raises on a duplicate (level, category, stage)
    return tuple(sorted(checked, key=lambda r: (r.level, r.category or "", r.stage)))


def _check_year(year: int) -> int:
    if year not in YEAR_RANGE:
        raise InvalidValue("year must be 2000..2100", field="year", value=year)
    return year


def _check_days(year: int, holidays: Iterable[date], makeup: Iterable[date]) -> YearOverride:
    override = YearOverride(holidays=frozenset(holidays), makeup_days=frozenset(makeup))
    if len(override.holidays) + len(override.makeup_days) > _MAX_DAYS_IN_OVERRIDE:
        raise InvalidValue("too many days in one year's override", field="holidays")
    for day in override.holidays | override.makeup_days:
        if day.year != year:
            raise InvalidValue("dates must lie in their year", field="holidays", year=year)
    if override.holidays & override.makeup_days:
        raise InvalidValue("a day cannot be both a holiday and a make-up working day")
    # 调休: a make-up working day moves a weekday off to a weekend; on a weekday it means nothing.
    if any(day.weekday() < 5 for day in override.makeup_days):
        raise InvalidValue("a make-up working day must fall on a weekend", field="makeup_days")
    return override


class SlaRuleSet(Aggregate):
    """The admin's SLA rules (a list of :class:`~events.sla.SlaRule`), replaced wholesale."""

    class Opened(Aggregate.Created):
        meta: EventMeta

    class RulesReplaced(Aggregate.Event):
        rules: tuple[SlaRule, ...]
        meta: EventMeta

    @staticmethod
    def create_id() -> UUID:
        """eventsourcing hook: there is one rule set."""
        return SLA_RULES_ID

    @classmethod
    def open(cls, *, meta: EventMeta) -> Self:
        return cls(meta=meta)

    @event(Opened)
    def __init__(self, meta: EventMeta) -> None:
        self.rules: tuple[SlaRule, ...] = ()

    @property
    def policy(self) -> SlaPolicy | None:
        """The admin's policy, or None when no rule is defined (use the default)."""
        return SlaPolicy(rules=self.rules) if self.rules else None

    def replace_rules(self, rules: Iterable[SlaRule], *, meta: EventMeta) -> None:
        """Replace every rule; the same rules (in any order) are a no-op."""
        checked = validate_sla_rules(rules)
        if checked != self.rules:
            self._rules_replaced(rules=checked, meta=meta)

    @event(RulesReplaced)
    def _rules_replaced(self, rules: tuple[SlaRule, ...], meta: EventMeta) -> None:
        self.rules = rules


class CalendarOverrides(Aggregate):
    """Per-year holiday arrangements that replace the built-in data for their year."""

    class Opened(Aggregate.Created):
        meta: EventMeta

    class YearSet(Aggregate.Event):
        year: int
        holidays: tuple[date, ...]
        makeup_days: tuple[date, ...]
        meta: EventMeta

    class YearCleared(Aggregate.Event):
        year: int
        meta: EventMeta

    @staticmethod
    def create_id() -> UUID:
        """eventsourcing hook: there is one set of overrides."""
        return CALENDAR_OVERRIDES_ID

    @classmethod
    def open(cls, *, meta: EventMeta) -> Self:
        return cls(meta=meta)

    @event(Opened)
    def __init__(self, meta: EventMeta) -> None:
        self.years: dict[int, YearOverride] = {}

    def set_year(
        self,
        year: int,
        holidays: tuple[date, ...],
        makeup_days: tuple[date, ...],
        *,
        meta: EventMeta,
    ) -> None:
        """Record the arrangement of ``year``; the same arrangement again is a no-op."""
        override = _check_days(_check_year(year), holidays, makeup_days)
        if self.years.get(year) != override:
            self._year_set(
                year=year,
                holidays=tuple(sorted(override.holidays)),
                makeup_days=tuple(sorted(override.makeup_days)),
                meta=meta,
            )

    def clear_year(self, year: int, *, meta: EventMeta) -> None:
        """Drop the override: the built-in data (or Mon–Fri) applies again. Idempotent."""
        if _check_year(year) in self.years:
            self._year_cleared(year=year, meta=meta)

    @event(YearSet)
    def _year_set(
        self,
        year: int,
        holidays: tuple[date, ...],
        makeup_days: tuple[date, ...],
        meta: EventMeta,
    ) -> None:
        self.years[year] = YearOverride(
            holidays=frozenset(holidays), makeup_days=frozenset(makeup_days)
        )

    @event(YearCleared)
    def _year_cleared(self, year: int, meta: EventMeta) -> None:
        del self.years[year]
