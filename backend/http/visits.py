"""Visit endpoints (走访): recorded from phones under their own ids, read within the scope."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from backend.http.deps import ContainerDep
from backend.http.field_schemas import (
    AmendVisit,
    NewVisit,
    Purpose,
    VisitPage,
    VisitView,
    VoidVisit,
    visit_view,
)
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.responses import READ_ERRORS, WRITE_ERRORS
from backend.services.visits import VisitDraft, VisitFilter, VisitService

__all__ = ["VisitController"]

_REPEATED = ResponseSpec(VisitView, description="Recorded before under this id (duplicate)")


def draft(data: NewVisit) -> VisitDraft:
    return VisitDraft(
        visit_id=data.visit_id, household_id=data.household_id, purpose=data.purpose,
        method=data.method, visited_at=data.visited_at, findings=data.findings.domain(),
        needs=tuple(data.needs), gps=None if data.gps is None else data.gps.domain(),
        photos=tuple(data.photos), follow_up_case_ids=tuple(data.follow_up_case_ids),
        client_time=data.client_time,
    )  # fmt: skip


class VisitController(Controller):
    path = "/v1/visits"
    tags = ["visits"]
    dependencies = actor_dependency
    security = BEARER

    @post(
        operation_id="recordVisit",
        summary="Record a visit under the phone's id; a re-send answers 200 duplicate",
        responses={**WRITE_ERRORS, 200: _REPEATED},
    )
    async def record(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[NewVisit]
    ) -> Response[VisitView]:
        row, duplicate = await VisitService(container).record(actor, draft(data))
        return Response(visit_view(row, duplicate=duplicate), status_code=200 if duplicate else 201)

    @get(operation_id="listVisits", summary="Visits in your scope", responses=READ_ERRORS)
    async def list_visits(
        self,
        container: ContainerDep,
        actor: ActorDep,
        grid_id: FromQuery[UUID | None] = None,
        household_id: FromQuery[UUID | None] = None,
        visitor_id: FromQuery[UUID | None] = None,
        purpose: FromQuery[Purpose | None] = None,
        date_from: FromQuery[date | None] = None,
        date_to: FromQuery[date | None] = None,
        include_voided: FromQuery[bool] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> VisitPage:
        where = VisitFilter(
            grid_id=grid_id, household_id=household_id, visitor_id=visitor_id, purpose=purpose,
            date_from=date_from, date_to=date_to, include_voided=include_voided,
        )  # fmt: skip
        total, rows = await VisitService(container).list(actor, where, limit=limit, offset=offset)
        return VisitPage(
            total=total, limit=limit, offset=offset, items=[visit_view(r) for r in rows]
        )

    @get("/{visit_id:uuid}", operation_id="getVisit", summary="One visit", responses=READ_ERRORS)
    async def get_visit(
        self, container: ContainerDep, actor: ActorDep, visit_id: FromPath[UUID]
    ) -> VisitView:
        return visit_view(await VisitService(container).view(actor, visit_id))

    @post(
        "/{visit_id:uuid}/amend",
        operation_id="amendVisit",
        status_code=200,
        summary="Correct notes or needs (the visitor or their grid head)",
        responses=WRITE_ERRORS,
    )
    async def amend(
        self,
        container: ContainerDep,
        actor: ActorDep,
        visit_id: FromPath[UUID],
        data: JSONBody[AmendVisit],
    ) -> VisitView:
        needs = None if data.needs is None else tuple(data.needs)
        row = await VisitService(container).amend(actor, visit_id, notes=data.notes, needs=needs)
        return visit_view(row)

    @post(
        "/{visit_id:uuid}/void",
        operation_id="voidVisit",
        status_code=200,
        summary="Mark a visit as recorded by mistake (it stays in the log)",
        responses=WRITE_ERRORS,
    )
    async def void(
        self,
        container: ContainerDep,
        actor: ActorDep,
        visit_id: FromPath[UUID],
        data: JSONBody[VoidVisit],
    ) -> VisitView:
        return visit_view(await VisitService(container).void(actor, visit_id, data.reason))
