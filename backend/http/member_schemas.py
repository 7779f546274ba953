"""Wire types of grid-member profiles and supervisor queries (coverage, rankings)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

import msgspec

__all__ = [
    "AssignmentView",
    "GridCoveragePage",
    "GridCoverageRow",
    "MediationCounts",
    "MemberProfile",
    "MemberRankPage",
    "MemberRankRow",
    "VisitCounts",
    "grid_page",
    "member_page",
    "profile_view",
]


class AssignmentView(msgspec.Struct, kw_only=True):
    role: str
    scope_unit_id: UUID
    scope_code: str
    scope_name: str
    effective_from: date | None = None
    effective_to: date | None = None
    """Exclusive: the first day of the next assignment or of the relief."""


class VisitCounts(msgspec.Struct, kw_only=True):
    week: int
    month: int
    quarter: int


class MediationCounts(msgspec.Struct, kw_only=True):
    joined: int
    """Mediations opened in the period with this member as mediator or opener."""
    agreement: int
    failed: int
    referred: int


class MemberProfile(msgspec.Struct, kw_only=True):
    staff_id: UUID
    name: str
    as_of: date
    period: Literal["week", "month", "quarter"]
    period_start: date
    period_end: date
    assignment: AssignmentView | None
    """The assignment in force on ``as_of`` (None before appointment or after relief)."""
    assignments: list[AssignmentView]
    """Every assignment in force on some day of the period."""
    visits: VisitCounts
    """Visits this member recorded in the week, month and quarter holding ``as_of``."""
    households_in_scope: int
    households_visited: int
    coverage: float | None
    """遍访率: households in scope visited by this member in the period / households in scope."""
    cases_reported: int
    cases_closed: int
    cases_closed_on_time: int
    on_time_rate: float | None
    """按期办结率: closed with no SLA breach / closed, for cases this member handled."""
    mediations: MediationCounts
    points: int
    deductions: int


class GridCoverageRow(msgspec.Struct, kw_only=True):
    unit_id: UUID
    code: str
    name: str
    households: int
    visited: int
    coverage: float | None
    cases_closed: int
    closed_on_time: int
    on_time_rate: float | None
    rank: int | None = None


class GridCoveragePage(msgspec.Struct, kw_only=True):
    total: int
    limit: int
    offset: int
    as_of: date
    period_start: date
    items: list[GridCoverageRow]


class MemberRankRow(msgspec.Struct, kw_only=True):
    staff_id: UUID
    name: str
    scope_unit_id: UUID
    scope_code: str
    scope_name: str
    households: int
    visited: int
    coverage: float | None
    cases_closed: int
    closed_on_time: int
    on_time_rate: float | None
    rank: int | None


class MemberRankPage(msgspec.Struct, kw_only=True):
    total: int
    limit: int
    offset: int
    as_of: date
    period_start: date
    items: list[MemberRankRow]


def profile_view(doc: dict[str, Any]) -> MemberProfile:
    return msgspec.convert(doc, MemberProfile, from_attributes=True)


def grid_page(ranked: Any, limit: int, offset: int) -> GridCoveragePage:
    rows = ranked.rows[offset : offset + limit]
    return GridCoveragePage(
        total=ranked.total, limit=limit, offset=offset, as_of=ranked.as_of,
        period_start=ranked.period_start,
        items=[msgspec.convert(r, GridCoverageRow, from_attributes=True) for r in rows],
    )  # fmt: skip


def member_page(ranked: Any, limit: int, offset: int) -> MemberRankPage:
    rows = ranked.rows[offset : offset + limit]
    return MemberRankPage(
        total=ranked.total, limit=limit, offset=offset, as_of=ranked.as_of,
        period_start=ranked.period_start,
        items=[msgspec.convert(r, MemberRankRow, from_attributes=True) for r in rows],
    )  # fmt: skip
