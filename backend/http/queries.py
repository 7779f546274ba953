"""Supervisor queries: visit coverage by grid, rankings of grids and members (打擂台).

Household search within scope is ``GET /v1/households`` (``q``, ``grid_id``, ``tag``); the case
board filters are ``GET /v1/case-board``. Every list pages with ``limit``/``offset``: past the
end is an empty page with the true ``total``; an invalid value is 400 with errcode 40001.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.member_schemas import GridCoveragePage, MemberRankPage, grid_page, member_page
from backend.http.responses import READ_ERRORS
from backend.services.supervisor_queries import SupervisorQueryService, WindowQuery

__all__ = ["QueryController"]

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]
Period = Literal["week", "month", "quarter"]
RankBy = Literal["coverage", "on_time_rate"]
Level = Annotated[int, QueryParameter(ge=2, le=4)]


class QueryController(Controller):
    path = "/v1"
    tags = ["queries"]
    dependencies = actor_dependency
    security = BEARER

    @get(
        "/coverage/grids",
        operation_id="listGridCoverage",
        summary="遍访率 per grid unit of a level in your scope, for the period holding as_of",
        responses=READ_ERRORS,
    )
    async def grid_coverage(
        self, container: ContainerDep, actor: ActorDep, as_of: FromQuery[date | None] = None,
        period: FromQuery[Period] = "quarter", unit_id: FromQuery[UUID | None] = None,
        level: Level = 3, limit: Limit = 50, offset: Offset = 0,
    ) -> GridCoveragePage:  # fmt: skip
        query = WindowQuery(as_of=as_of, period=period, unit_id=unit_id, level=level)
        ranked = await SupervisorQueryService(container).grid_coverage(actor, query)
        return grid_page(ranked, limit, offset)

    @get(
        "/rankings/grids",
        operation_id="rankGrids",
        summary="Grid units of a level in your scope ranked by coverage or on-time closure",
        responses=READ_ERRORS,
    )
    async def rank_grids(
        self, container: ContainerDep, actor: ActorDep, as_of: FromQuery[date | None] = None,
        period: FromQuery[Period] = "quarter", unit_id: FromQuery[UUID | None] = None,
        level: Level = 3, by: FromQuery[RankBy] = "coverage", limit: Limit = 50,
        offset: Offset = 0,
    ) -> GridCoveragePage:  # fmt: skip
        query = WindowQuery(as_of=as_of, period=period, unit_id=unit_id, level=level)
        ranked = await SupervisorQueryService(container).rank_grids(actor, query, by)
        return grid_page(ranked, limit, offset)

    @get(
        "/rankings/members",
        operation_id="rankMembers",
        summary="Grid members assigned in your scope on as_of, ranked by coverage or on-time "
        "closure",
        responses=READ_ERRORS,
    )
    async def rank_members(
        self, container: ContainerDep, actor: ActorDep, as_of: FromQuery[date | None] = None,
        period: FromQuery[Period] = "quarter", unit_id: FromQuery[UUID | None] = None,
        by: FromQuery[RankBy] = "coverage", limit: Limit = 50, offset: Offset = 0,
    ) -> MemberRankPage:  # fmt: skip
        query = WindowQuery(as_of=as_of, period=period, unit_id=unit_id)
        ranked = await SupervisorQueryService(container).rank_members(actor, query, by)
        return member_page(ranked, limit, offset)
