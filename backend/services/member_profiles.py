"""Grid-member profiles (网格员画像) as of any day: households, visits, coverage, cases,
mediations and points, with the assignment history behind them.

Who may look: a staff member at their own profile; a grid head, supervisor or admin at the
profile of anyone whose current scope lies in their subtree (privacy rule 2: re-derived here,
never from the client). Everyone else is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from events.staff import STAFF_ROLES
from projections import grid_tree, member_queries, staff_roster
from projections.member_periods import Period, period_window

__all__ = ["OVERSEERS", "MemberProfileService", "check_as_of", "rate"]

OVERSEERS = ("grid_head", "supervisor", "admin")
EARLIEST = date(2000, 1, 1)
Doc = dict[str, Any]


def check_as_of(as_of: date | None, *, today: date) -> date:
    """``as_of`` or today (the business date); a day in the future has no figures yet (40070)."""
    day = as_of or today
    if day > today or day < EARLIEST:
        raise ApiError(40070, "as_of must lie between 2000-01-01 and today", as_of=day.isoformat())
    return day


def rate(part: int, whole: int) -> float | None:
    """A share rounded to 4 places; None when there is nothing to divide by."""
    return None if whole == 0 else round(part / whole, 4)


@dataclass(frozen=True, kw_only=True)
class ProfileQuery:
    staff_id: UUID
    as_of: date | None
    period: Period


class MemberProfileService:
    def __init__(self, container: Container) -> None:
        self.pool = container.pool
        self.clock = container.clock

    async def profile(self, actor: Actor, query: ProfileQuery) -> Doc:
        staff = await self._visible_staff(actor, query.staff_id)
        as_of = check_as_of(query.as_of, today=self.clock.today())
        start, end = period_window(as_of, query.period)
        sid = query.staff_id
        scope_rows = await member_queries.member_rows(
            self.pool, scope_unit_id=await self._root(staff), as_of=as_of, start=start,
            roles=STAFF_ROLES, staff_id=sid, zone=self.clock.zone,
        )  # fmt: skip
        facts = await member_queries.fact_totals(self.pool, sid, start=start, end=end)
        return {
            "staff_id": sid, "name": staff["name"], "as_of": as_of, "period": query.period,
            "period_start": start, "period_end": end,
            "assignment": _assignment(scope_rows[0] if scope_rows else None),
            "assignments": await member_queries.assignments_during(
                self.pool, sid, start=start, end=end),
            "visits": await self._visits(sid, as_of),
            **_coverage(scope_rows[0] if scope_rows else None),
            **_facts(facts),
        }  # fmt: skip

    async def _visible_staff(self, actor: Actor, staff_id: UUID) -> Any:
        if actor.staff_id == staff_id:
            staff = await staff_roster.get_staff(self.pool, staff_id)
            assert staff is not None  # the caller was authenticated from this very row
            return staff
        if actor.role not in OVERSEERS:
            raise ApiError(
                40300,
                "only grid heads, supervisors and admins see another member's profile; "
                "you may read your own",
                role=actor.role,
            )
        staff = await staff_roster.get_staff(self.pool, staff_id)
        if staff is None:
            raise ApiError(40400, "no such staff member", id=str(staff_id))
        if not await grid_tree.unit_in_scope(
            self.pool, staff["scope_unit_id"], actor.scope_unit_id
        ):
            raise ApiError(40301, "staff member outside your scope", id=str(staff_id))
        return staff

    async def _root(self, staff: Any) -> UUID:
        # The member's assignment on as_of may lie anywhere in the tree (moved since): search
        # from the root of the tree their current scope belongs to.
        unit = await grid_tree.get_unit(self.pool, staff["scope_unit_id"])
        root: UUID = unit["path"][0] if unit is not None else staff["scope_unit_id"]
        return root

    async def _visits(self, staff_id: UUID, as_of: date) -> Doc:
        out: Doc = {}
        periods: tuple[Period, ...] = ("week", "month", "quarter")
        for period in periods:
            start, end = period_window(as_of, period)
            out[period] = await member_queries.visit_count(
                self.pool, staff_id, start=start, end=end, zone=self.clock.zone
            )
        return out


def _assignment(row: Doc | None) -> Doc | None:
    if row is None:
        return None
    keys = ("role", "scope_unit_id", "scope_code", "scope_name")
    return {k: row[k] for k in keys}


def _coverage(row: Doc | None) -> Doc:
    households = int(row["households"]) if row else 0
    visited = int(row["visited"]) if row else 0
    return {
        "households_in_scope": households,
        "households_visited": visited,
        "coverage": rate(visited, households),
    }


def _facts(facts: dict[tuple[str, str | None], tuple[int, int]]) -> Doc:
    def count(kind: str, detail: str | None = None) -> int:
        return sum(n for (k, d), (n, _) in facts.items() if k == kind and detail in (None, d))

    def total(kind: str) -> int:
        return sum(t for (k, _), (_, t) in facts.items() if k == kind)

    closed, on_time = count("case_closed"), count("case_closed", "on_time")
    return {
        "cases_reported": count("case_reported"),
        "cases_closed": closed,
        "cases_closed_on_time": on_time,
        "on_time_rate": rate(on_time, closed),
        "mediations": {
            "joined": count("mediation_opened"),
            **{o: count("mediation_concluded", o) for o in ("agreement", "failed", "referred")},
        },
        "points": total("points"),
        "deductions": total("deduction"),
    }
