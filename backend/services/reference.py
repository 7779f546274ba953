"""Reference data as other services read it: SLA policy, working calendar, categories, point
rules; and the idempotent seeding of the default case categories.

Every function reads the projection afresh: several API processes run, and an admin's change
in one must hold in the others at once, so nothing here is cached beyond one call. Admin
commands live in :mod:`backend.services.reference_admin`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import asyncpg
from anyio import to_thread
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError

from backend.bootstrap import Container
from backend.errors import ApiError
from events.case import MAX_DELAY_DAYS
from events.errors import DomainError
from events.holidays import (
    CHINA_HOLIDAYS,
    CHINA_MAKEUP_DAYS,
    WorkingCalendar,
    YearOverride,
    china_calendar,
)
from events.meta import system_meta
from events.point_rules import RuleVersion
from events.reference import DEFAULT_CATEGORIES, CaseCategory
from events.sla import DEFAULT_POLICY, SlaPolicy, SlaRule, sla_horizon
from projections import reference_data

__all__ = [
    "CalendarYear",
    "CategoryInfo",
    "PointRuleInfo",
    "PolicyInfo",
    "ReferenceBundle",
    "active_category",
    "calendar_year",
    "ensure_default_categories",
    "holiday_data_gaps",
    "point_rule_info",
    "point_rule_version",
    "policy_info",
    "reference_bundle",
    "sla_policy",
    "working_calendar",
]

log = logging.getLogger(__name__)
CalendarSource = Literal["built-in", "override", "weekdays-only"]


@dataclass(frozen=True, kw_only=True)
class CategoryInfo:
    """A case category as a case service needs it. A retired one is returned with
    ``active=False``: old cases still show its label, but no new case may use it."""

    code: str
    label: str
    mediation_eligible: bool
    active: bool
    parent_code: str | None = None


@dataclass(frozen=True, kw_only=True)
class PolicyInfo:
    """The effective SLA policy and where it comes from (``version`` 0 for the default)."""

    policy: SlaPolicy
    source: Literal["admin", "default"]
    version: int


@dataclass(frozen=True, kw_only=True)
class CalendarYear:
    year: int
    source: CalendarSource
    covered: bool
    holidays: list[date]
    makeup_days: list[date]


@dataclass(frozen=True, kw_only=True)
class PointRuleInfo:
    """A rule's current row (``ref_point_rules`` joined with its current version) and every
    version, oldest first."""

    current: asyncpg.Record
    versions: list[RuleVersion]


@dataclass(frozen=True, kw_only=True)
class ReferenceBundle:
    """What a phone keeps offline; ``revision`` changes whenever any part of it does."""

    revision: int
    categories: list[asyncpg.Record]
    point_rules: list[asyncpg.Record]
    policy: PolicyInfo


async def policy_info(container: Container) -> PolicyInfo:
    return _policy(*await reference_data.sla_rules(container.pool))


def _policy(rules: tuple[SlaRule, ...], version: int) -> PolicyInfo:
    if not rules:
        return PolicyInfo(policy=DEFAULT_POLICY, source="default", version=version)
    return PolicyInfo(policy=SlaPolicy(rules=rules), source="admin", version=version)


async def sla_policy(container: Container) -> SlaPolicy:
    """The admin's SLA rules, or :data:`events.sla.DEFAULT_POLICY` while none are defined."""
    return (await policy_info(container)).policy


async def working_calendar(container: Container) -> WorkingCalendar:
    """The built-in China calendar with the admin's per-year overrides applied, its working
    days local to the business zone."""
    overrides = await reference_data.calendar_overrides(container.pool)
    return china_calendar(
        {
            year: YearOverride(holidays=frozenset(h), makeup_days=frozenset(m))
            for year, (h, m) in overrides.items()
        },
        zone=container.clock.zone,
    )


async def holiday_data_gaps(container: Container, *, now: datetime | None = None) -> list[int]:
    """Years inside the SLA horizon (today up to the latest deadline a stage entered now can
    get, one maximal delay included) that have no holiday data: deadlines there count
    Monday–Friday only and are provisional until an admin enters the year."""
    moment = now or container.clock.now()
    calendar = await working_calendar(container)
    end = sla_horizon(moment, await sla_policy(container), calendar, delay_days=MAX_DELAY_DAYS)
    first, last = (container.clock.day_of(m) for m in (moment, end))
    return list(calendar.uncovered_years(first, last))


async def calendar_year(container: Container, year: int) -> CalendarYear:
    """One year's holidays and make-up days as deadlines will use them, and their source."""
    overrides = await reference_data.calendar_overrides(container.pool)
    if year in overrides:
        holidays, makeup = overrides[year]
        return CalendarYear(
            year=year, source="override", covered=True, holidays=holidays, makeup_days=makeup
        )
    holidays = sorted(d for d in CHINA_HOLIDAYS if d.year == year)
    makeup = sorted(d for d in CHINA_MAKEUP_DAYS if d.year == year)
    covered = china_calendar().covered(year)
    return CalendarYear(
        year=year,
        source="built-in" if covered else "weekdays-only",
        covered=covered,
        holidays=holidays,
        makeup_days=makeup,
    )


async def active_category(container: Container, code: str) -> CategoryInfo | None:
    """The category ``code`` (None if never defined); check ``.active`` before a new case."""
    row = await reference_data.get_category(container.pool, code.strip())
    if row is None:
        return None
    return CategoryInfo(
        code=row["code"],
        label=row["label"],
        mediation_eligible=row["mediation_eligible"],
        active=row["active"],
        parent_code=row["parent_code"],
    )


async def point_rule_version(container: Container, code: str, on: date) -> RuleVersion | None:
    """The version of rule ``code`` in force on ``on``; None if unknown, not yet in force or
    retired by then (as :meth:`events.point_rules.PointRule.version_on`)."""
    return await reference_data.point_rule_version(container.pool, code.strip(), on)


async def point_rule_info(container: Container, code: str) -> PointRuleInfo:
    """Rule ``code`` with all its versions; 40400 if it was never defined."""
    current = await reference_data.get_point_rule(container.pool, code.strip())
    if current is None:
        raise ApiError(40400, "no such point rule", code=code)
    versions = await reference_data.rule_versions(container.pool, current["code"])
    return PointRuleInfo(current=current, versions=versions)


async def reference_bundle(container: Container) -> ReferenceBundle:
    """Categories (retired ones too: old cases show their labels), the point rules in force
    with their current versions, and the effective SLA policy, read in one snapshot."""
    async with container.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        return ReferenceBundle(
            revision=await reference_data.reference_revision(conn),
            categories=await reference_data.list_categories(conn, include_retired=True),
            point_rules=await reference_data.list_point_rules(conn, include_retired=False),
            policy=_policy(*await reference_data.sla_rules(conn)),
        )


async def ensure_default_categories(container: Container) -> None:
    """Define whichever of :data:`DEFAULT_CATEGORIES` are missing, as the system. A category an
    admin relabelled or retired is left as it is; a second call changes nothing."""
    position = await to_thread.run_sync(lambda: _seed_missing(container))
    if position:
        container.runner.wake()
        await container.runner.wait_for(position)


def _seed_missing(container: Container) -> int:
    repository = container.event_log.repository
    meta = system_meta("reference-seed")
    known: dict[str, CaseCategory] = {}
    new: list[CaseCategory] = []
    for spec in DEFAULT_CATEGORIES:  # parents come before their children
        try:
            known[spec.code] = repository.get(CaseCategory.id_for_code(spec.code))
            continue
        except AggregateNotFoundError:
            pass
        parent = known.get(spec.parent_code) if spec.parent_code else None
        try:
            category = CaseCategory.from_spec(spec, meta=meta, parent=parent)
        except DomainError as err:  # e.g. an admin retired the parent: never block start-up
            log.warning("default category %s not seeded: %s", spec.code, err.errmsg)
            continue
        known[spec.code] = category
        new.append(category)
    if not new:
        return 0
    try:
        recordings = container.event_log.save(*new)
    except RecordConflictError:
        return 0  # another process seeded them at the same moment: they exist now
    return int(recordings[-1].notification.id) if recordings else 0
