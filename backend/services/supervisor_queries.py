"""Supervisor queries: visit coverage by grid and rankings (打擂台) of members and grids.

Everything is within the caller's scope (optionally narrowed to a unit inside it), as of a day,
over the week / month / quarter holding that day. A town has at most a few hundred grids and
members, so rows are computed in SQL and ranked and paged here; paging past the end is an
empty page with the true ``total``.

Rankings use competition ranking (1, 2, 2, 4): equal figures share a place. Members or grids
without a figure (no households, no closed cases) come last, unranked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from uuid import UUID

from backend.bootstrap import Container
from backend.services.actor import Actor
from backend.services.member_profiles import check_as_of, rate
from backend.services.scope import require_role, require_unit_in_scope
from projections import member_queries
from projections.member_periods import Period, period_window

__all__ = ["QUERY_ROLES", "Ranked", "SupervisorQueryService", "WindowQuery", "rank"]

QUERY_ROLES = ("grid_member", "grid_head", "supervisor", "admin", "auditor")
RankBy = Literal["coverage", "on_time_rate"]
Doc = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class WindowQuery:
    as_of: date | None = None
    period: Period = "quarter"
    unit_id: UUID | None = None
    level: int = 3


@dataclass(frozen=True, kw_only=True)
class Ranked:
    total: int
    as_of: date
    period_start: date
    rows: list[Doc]


def _with_rates(row: Doc) -> Doc:
    return {
        **row,
        "coverage": rate(int(row["visited"]), int(row["households"])),
        "on_time_rate": rate(int(row["closed_on_time"]), int(row["cases_closed"])),
    }


def rank(rows: Sequence[Doc], by: RankBy, *, name_key: str) -> list[Doc]:
    """Best first; ties share a place; rows without the figure last with ``rank`` None."""
    scored = sorted((r for r in rows if r[by] is not None), key=lambda r: (-r[by], r[name_key]))
    out, place, previous = [], 0, None
    for index, row in enumerate(scored, start=1):
        if row[by] != previous:
            place, previous = index, row[by]
        out.append({**row, "rank": place})
    unranked = sorted((r for r in rows if r[by] is None), key=lambda r: r[name_key])
    return out + [{**r, "rank": None} for r in unranked]


class SupervisorQueryService:
    def __init__(self, container: Container) -> None:
        self.pool = container.pool
        self.clock = container.clock

    async def grid_coverage(self, actor: Actor, query: WindowQuery) -> Ranked:
        root, as_of, start = await self._window(actor, query)
        rows = await member_queries.grid_rows(
            self.pool,
            scope_unit_id=root,
            as_of=as_of,
            start=start,
            level=query.level,
            zone=self.clock.zone,
        )
        ordered = sorted((_with_rates(r) for r in rows), key=lambda r: r["code"])
        return Ranked(total=len(ordered), as_of=as_of, period_start=start, rows=ordered)

    async def rank_grids(self, actor: Actor, query: WindowQuery, by: RankBy) -> Ranked:
        covered = await self.grid_coverage(actor, query)
        rows = rank(covered.rows, by, name_key="code")
        return Ranked(total=len(rows), as_of=covered.as_of, period_start=covered.period_start,
                      rows=rows)  # fmt: skip

    async def rank_members(self, actor: Actor, query: WindowQuery, by: RankBy) -> Ranked:
        root, as_of, start = await self._window(actor, query)
        rows = await member_queries.member_rows(
            self.pool,
            scope_unit_id=root,
            as_of=as_of,
            start=start,
            roles=("grid_member",),
            zone=self.clock.zone,
        )
        ranked = rank([_with_rates(r) for r in rows], by, name_key="name")
        return Ranked(total=len(ranked), as_of=as_of, period_start=start, rows=ranked)

    async def _window(self, actor: Actor, query: WindowQuery) -> tuple[UUID, date, date]:
        require_role(actor, *QUERY_ROLES)
        root = actor.scope_unit_id
        if query.unit_id is not None:
            await require_unit_in_scope(self.pool, actor, query.unit_id)
            root = query.unit_id
        as_of = check_as_of(query.as_of, today=self.clock.today())
        start, _ = period_window(as_of, query.period)
        return root, as_of, start
