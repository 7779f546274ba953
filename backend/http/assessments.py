"""Assessment endpoints (考核): schemes (admin), explained scores, rankings (打擂台), the
ranking as CSV, and sign-off child first. Rules for supervisors: docs/assessments.md."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter

from backend.http.assessment_schemas import (
    DefineScheme,
    ExplainView,
    RankingView,
    RetireScheme,
    ReviseScheme,
    SchemeList,
    SchemeView,
    SignOff,
    SignOffView,
    explain_view,
    ranking_view,
    scheme_version_view,
    scheme_view,
    signoff_view,
    to_specs,
)
from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.responses import READ_ERRORS, WRITE_ERRORS
from backend.http.wire import PLAIN_TEXT, PathText
from backend.services.assessment_admin import SchemeAdmin, scheme_versions
from backend.services.assessment_export import export_ranking_csv
from backend.services.assessment_rankings import RankingService
from backend.services.assessment_signoff import SignOffService
from backend.services.assessments import AssessmentService
from projections import assessment_register

__all__ = ["AssessmentController", "AssessmentSchemeController"]

Period = Annotated[
    str,
    PathParameter(max_length=16, pattern=PLAIN_TEXT, description="2026-Q3, 2026-07 or 2026-W27-28"),
]
SchemeParam = Annotated[
    str,
    QueryParameter(pattern="^[a-z][a-z0-9_.-]{1,47}$", description="scheme code"),
]
Level = FromQuery[Literal["village", "grid", "member"]]
# Optional in the schema so that a missing reason gets its own errcode (40077), not 40000.
Reason = Annotated[
    str | None, QueryParameter(max_length=500, pattern=PLAIN_TEXT, description="why (audited)")
]
EventsPerLine = Annotated[
    int, QueryParameter(ge=1, le=5000, description="events listed per line (all are counted)")
]
_CSV = ResponseSpec(str, description="The ranking as CSV (UTF-8 with BOM)", media_type="text/csv")


class AssessmentSchemeController(Controller):
    path = "/v1/assessments/schemes"
    tags = ["assessments"]
    dependencies = actor_dependency
    security = BEARER

    @get(
        operation_id="listAssessmentSchemes", summary="Every scheme version", responses=READ_ERRORS
    )
    async def list_schemes(self, container: ContainerDep, actor: ActorDep) -> SchemeList:
        rows = await assessment_register.list_schemes(container.pool)
        return SchemeList(items=[scheme_version_view(r) for r in rows])

    @get("/{code:str}", operation_id="getAssessmentScheme", responses=READ_ERRORS)
    async def get_scheme(
        self, container: ContainerDep, actor: ActorDep, code: PathText
    ) -> SchemeView:
        return scheme_view(await scheme_versions(container, code))

    @post(
        operation_id="defineAssessmentScheme",
        summary="Define version 1 (admin)",
        responses=WRITE_ERRORS,
    )
    async def define(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[DefineScheme]
    ) -> SchemeView:
        rows = await SchemeAdmin(container, actor).define(
            code=data.code,
            period_kind=data.period_kind,
            label=data.label,
            indicators=to_specs(data.indicators),
            effective_from=data.effective_from or container.clock.today(),
        )
        return scheme_view(rows)

    @post(
        "/{code:str}/revisions",
        operation_id="reviseAssessmentScheme",
        status_code=200,
        summary="Record the next version (admin)",
        responses=WRITE_ERRORS,
    )
    async def revise(
        self,
        container: ContainerDep,
        actor: ActorDep,
        code: PathText,
        data: JSONBody[ReviseScheme],
    ) -> SchemeView:
        rows = await SchemeAdmin(container, actor).revise(
            code,
            label=data.label,
            indicators=to_specs(data.indicators),
            effective_from=data.effective_from or container.clock.today(),
        )
        return scheme_view(rows)

    @post(
        "/{code:str}/retire",
        operation_id="retireAssessmentScheme",
        status_code=200,
        summary="No version in force from effective_from (admin)",
        responses=WRITE_ERRORS,
    )
    async def retire(
        self,
        container: ContainerDep,
        actor: ActorDep,
        code: PathText,
        data: JSONBody[RetireScheme],
    ) -> SchemeView:
        rows = await SchemeAdmin(container, actor).retire(
            code, effective_from=data.effective_from or container.clock.today(), reason=data.reason
        )
        return scheme_view(rows)


class AssessmentController(Controller):
    path = "/v1/assessments/periods/{period:str}"
    tags = ["assessments"]
    dependencies = actor_dependency
    security = BEARER

    @get(
        "/rankings",
        operation_id="rankAssessments",
        responses=READ_ERRORS,
        summary="Villages, grids or members inside unit_id (default: your scope), best first",
    )
    async def rank(
        self,
        container: ContainerDep,
        actor: ActorDep,
        period: Period,
        level: Level = "village",
        unit_id: FromQuery[UUID | None] = None,
        scheme: SchemeParam = "township",
    ) -> RankingView:
        ranked = await RankingService(container).rank(
            actor, period, scheme=scheme, level=level, within=unit_id
        )
        return ranking_view(period, scheme, level, ranked)

    @get(
        "/rankings.csv",
        operation_id="exportAssessmentRankings",
        responses={**READ_ERRORS, 200: _CSV},
        summary="The ranking as CSV; needs a reason, audited like every export",
    )
    async def rankings_csv(
        self,
        container: ContainerDep,
        actor: ActorDep,
        period: Period,
        level: Level = "village",
        reason: Reason = None,
        unit_id: FromQuery[UUID | None] = None,
        scheme: SchemeParam = "township",
    ) -> Response[bytes]:
        name, content = await export_ranking_csv(
            container,
            actor,
            period,
            scheme=scheme,
            level=level,
            within=unit_id,
            reason=reason or "",
        )
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(content, media_type="text/csv", headers=headers)  # Litestar adds charset

    @get(
        "/units/{unit_id:uuid}/explain",
        operation_id="explainUnitScore",
        responses=READ_ERRORS,
        summary="A unit's score line by line, with the events behind each line",
    )
    async def explain_unit(
        self,
        container: ContainerDep,
        actor: ActorDep,
        period: Period,
        unit_id: FromPath[UUID],
        scheme: SchemeParam = "township",
        events_per_line: EventsPerLine = 1000,
    ) -> ExplainView:
        service = AssessmentService(container)
        subject = await service.unit_subject(actor, unit_id)
        assessment = await service.assess(period, scheme, subject)
        return explain_view(assessment, events_per_line=events_per_line)

    @get(
        "/members/{staff_id:uuid}/explain",
        operation_id="explainMemberScore",
        responses=READ_ERRORS,
        summary="A member's score explained (members: their own)",
    )
    async def explain_member(
        self,
        container: ContainerDep,
        actor: ActorDep,
        period: Period,
        staff_id: FromPath[UUID],
        scheme: SchemeParam = "township",
        events_per_line: EventsPerLine = 1000,
    ) -> ExplainView:
        service = AssessmentService(container)
        subject = await service.member_subject(actor, staff_id)
        assessment = await service.assess(period, scheme, subject)
        return explain_view(assessment, events_per_line=events_per_line)

    @post(
        "/units/{unit_id:uuid}/sign-off",
        operation_id="signOffAssessment",
        responses=WRITE_ERRORS,
        summary="Freeze the unit's score; children first (409 40975)",
    )
    async def sign_off(
        self,
        container: ContainerDep,
        actor: ActorDep,
        period: Period,
        unit_id: FromPath[UUID],
        data: JSONBody[SignOff],
    ) -> SignOffView:
        row = await SignOffService(container).sign(actor, period, unit_id, scheme=data.scheme)
        return signoff_view(row)

    @get(
        "/units/{unit_id:uuid}/sign-off",
        operation_id="getAssessmentSignOff",
        responses=READ_ERRORS,
        summary="The unit's sign-off for the period (404 if not signed)",
    )
    async def get_sign_off(
        self, container: ContainerDep, actor: ActorDep, period: Period, unit_id: FromPath[UUID]
    ) -> SignOffView:
        return signoff_view(await SignOffService(container).get(actor, period, unit_id))
