"""Case (事件) endpoints: report, read, one POST per action of the closed loop, and the board.

Every action answers with the case as the caller now sees it; a transition the case's state
does not allow is 409 (40910) with ``state`` and ``allowed``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from backend.http.case_schemas import (
    CaseBoardPage,
    CaseView,
    CloseCase,
    DecideDelay,
    DispatchCase,
    HandleCase,
    NoteCase,
    ReasonCase,
    RecordSatisfaction,
    ReportCase,
    RequestDelay,
    State,
    SuperviseCase,
    board_page,
    case_view,
)
from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.responses import READ_ERRORS, WRITE_ERRORS
from backend.http.wire import PLAIN_TEXT
from backend.services.case_queries import BoardQuery, CaseBoardService
from backend.services.cases import CaseDraft, CaseService
from events.visit import Gps

__all__ = ["CaseBoardController", "CaseController"]

CaseId = FromPath[UUID]
HOLDER = (
    "A staff id, not a unit id: cases dispatched to or signed for by this staff member "
    "(assignee_staff_id, kept after closure). Yours, or a staff member in your scope (40301)."
)
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]


def _action(path: str, operation_id: str, summary: str) -> post:
    return post(
        f"/{{case_id:uuid}}/{path}", operation_id=operation_id, summary=summary,
        status_code=200, responses=WRITE_ERRORS,
    )  # fmt: skip


class CaseController(Controller):
    path = "/v1/cases"
    tags = ["cases"]
    dependencies = actor_dependency
    security = BEARER

    @post(
        operation_id="reportCase",
        summary="Report a case (上报); the id comes from the phone, re-sending is idempotent",
        status_code=201,
        responses={
            200: ResponseSpec(CaseView, description="Reported before; same content"),
            **WRITE_ERRORS,
        },
    )
    async def report(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[ReportCase]
    ) -> Response[CaseView]:
        gps = (
            Gps(lat=data.gps.lat, lng=data.gps.lng, accuracy_m=data.gps.accuracy_m)
            if data.gps
            else None
        )
        draft = CaseDraft(
            case_id=data.id, category=data.category, title=data.title,
            description=data.description, location=data.location, unit_id=data.unit_id,
            source=data.source, contact_name=data.contact_name, contact_phone=data.contact_phone,
            gps=gps, household_id=data.household_id, photos=tuple(data.photos),
            client_time=data.client_time,
        )  # fmt: skip
        doc, created = await CaseService(container).report(actor, draft)
        return Response(case_view(doc), status_code=201 if created else 200)

    @get("/{case_id:uuid}", operation_id="getCase", summary="One case", responses=READ_ERRORS)
    async def get_case(self, container: ContainerDep, actor: ActorDep, case_id: CaseId) -> CaseView:
        return case_view(await CaseService(container).get(actor, case_id))

    @_action("accept", "acceptCase", "受理")
    async def accept(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId, data: JSONBody[NoteCase]
    ) -> CaseView:
        decide = lambda c, m: c.accept(meta=m, comment=data.comment)  # noqa: E731
        return await _act(container, actor, case_id, "accept", decide, data.client_time)

    @_action("reject", "rejectCase", "不予受理")
    async def reject(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId, data: JSONBody[ReasonCase]
    ) -> CaseView:
        decide = lambda c, m: c.reject(data.reason, meta=m)  # noqa: E731
        return await _act(container, actor, case_id, "reject", decide, data.client_time)

    @_action("register", "registerCase", "立案")
    async def register(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId, data: JSONBody[NoteCase]
    ) -> CaseView:
        decide = lambda c, m: c.register(meta=m, comment=data.comment)  # noqa: E731
        return await _act(container, actor, case_id, "register", decide, data.client_time)

    @_action("dispatch", "dispatchCase", "派遣 to one staff member or unit in your scope")
    async def dispatch(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId,
        data: JSONBody[DispatchCase],
    ) -> CaseView:  # fmt: skip
        doc = await CaseService(container).dispatch(
            actor, case_id, staff_id=data.staff_id, unit_id=data.unit_id,
            instructions=data.instructions, client_time=data.client_time,
        )  # fmt: skip
        return case_view(doc)

    @_action("sign-for", "signForCase", "签收 by the assignee")
    async def sign_for(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId, data: JSONBody[NoteCase]
    ) -> CaseView:
        decide = lambda c, m: c.sign_for(meta=m)  # noqa: E731
        return await _act(container, actor, case_id, "sign_for", decide, data.client_time)

    @_action("return", "returnCase", "退回 to be dispatched again")
    async def return_(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId, data: JSONBody[ReasonCase]
    ) -> CaseView:
        decide = lambda c, m: c.return_(data.reason, meta=m)  # noqa: E731
        return await _act(container, actor, case_id, "return", decide, data.client_time)

    @_action("handle", "handleCase", "处置 with result and before/after photos")
    async def handle(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId, data: JSONBody[HandleCase]
    ) -> CaseView:
        def decide(c: Any, m: Any) -> None:
            before, after = tuple(data.before_photos), tuple(data.after_photos)
            c.handle(data.result, meta=m, before_photos=before, after_photos=after)

        return await _act(container, actor, case_id, "handle", decide, data.client_time)

    @_action("verify", "verifyCase", "核查 passed")
    async def verify(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId, data: JSONBody[NoteCase]
    ) -> CaseView:
        decide = lambda c, m: c.verify(meta=m, comment=data.comment)  # noqa: E731
        return await _act(container, actor, case_id, "verify", decide, data.client_time)

    @_action("fail-verification", "failCaseVerification", "核查 failed: back to handling")
    async def fail_verification(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId, data: JSONBody[ReasonCase]
    ) -> CaseView:
        decide = lambda c, m: c.fail_verification(data.reason, meta=m)  # noqa: E731
        return await _act(container, actor, case_id, "fail_verification", decide, data.client_time)

    @_action("close", "closeCase", "结案/销号")
    async def close(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId, data: JSONBody[CloseCase]
    ) -> CaseView:
        decide = lambda c, m: c.close(meta=m, summary=data.summary)  # noqa: E731
        return await _act(container, actor, case_id, "close", decide, data.client_time)

    @_action("reopen", "reopenCase", "Reopen a closed case")
    async def reopen(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId, data: JSONBody[ReasonCase]
    ) -> CaseView:
        decide = lambda c, m: c.reopen(data.reason, meta=m)  # noqa: E731
        return await _act(container, actor, case_id, "reopen", decide, data.client_time)

    @_action("report-up", "reportCaseUp", "上报 to the parent unit, one level up")
    async def report_up(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId, data: JSONBody[ReasonCase]
    ) -> CaseView:
        doc = await CaseService(container).report_up(
            actor, case_id, data.reason, client_time=data.client_time
        )
        return case_view(doc)

    @_action("supervise", "superviseCase", "督办: a recorded instruction")
    async def supervise(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId,
        data: JSONBody[SuperviseCase],
    ) -> CaseView:  # fmt: skip
        decide = lambda c, m: c.supervise(data.instruction, meta=m)  # noqa: E731
        return await _act(container, actor, case_id, "supervise", decide, data.client_time)

    @_action("request-delay", "requestCaseDelay", "延期申请 in working days")
    async def request_delay(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId,
        data: JSONBody[RequestDelay],
    ) -> CaseView:  # fmt: skip
        decide = lambda c, m: c.request_delay(data.days, data.reason, meta=m)  # noqa: E731
        return await _act(container, actor, case_id, "request_delay", decide, data.client_time)

    @_action("decide-delay", "decideCaseDelay", "Approve or reject the pending delay")
    async def decide_delay(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId,
        data: JSONBody[DecideDelay],
    ) -> CaseView:  # fmt: skip
        decide = lambda c, m: c.decide_delay(data.approve, meta=m, comment=data.comment)  # noqa: E731
        return await _act(container, actor, case_id, "decide_delay", decide, data.client_time)

    @_action("suspend", "suspendCase", "挂起: the SLA clock stops")
    async def suspend(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId, data: JSONBody[ReasonCase]
    ) -> CaseView:
        decide = lambda c, m: c.suspend(data.reason, meta=m)  # noqa: E731
        return await _act(container, actor, case_id, "suspend", decide, data.client_time)

    @_action("resume", "resumeCase", "Resume a suspended case")
    async def resume(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId, data: JSONBody[NoteCase]
    ) -> CaseView:
        decide = lambda c, m: c.resume(meta=m)  # noqa: E731
        return await _act(container, actor, case_id, "resume", decide, data.client_time)

    @_action("satisfaction", "recordCaseSatisfaction", "回访满意度 after closure")
    async def satisfaction(
        self, container: ContainerDep, actor: ActorDep, case_id: CaseId,
        data: JSONBody[RecordSatisfaction],
    ) -> CaseView:  # fmt: skip
        decide = lambda c, m: c.record_satisfaction(data.rating, meta=m, comment=data.comment)  # noqa: E731
        return await _act(
            container, actor, case_id, "record_satisfaction", decide, data.client_time
        )


async def _act(
    container: ContainerDep, actor: ActorDep, case_id: UUID, action: Any, decide: Any,
    client_time: datetime | None,
) -> CaseView:  # fmt: skip
    doc = await CaseService(container).act(actor, case_id, action, decide, client_time=client_time)
    return case_view(doc)


class CaseBoardController(Controller):
    path = "/v1/case-board"
    tags = ["cases"]
    dependencies = actor_dependency
    security = BEARER

    @get(
        operation_id="listCaseBoard",
        summary="Cases in your scope with stage deadlines and SLA colour, filtered and paged",
        responses=READ_ERRORS,
    )
    async def list_board(
        self,
        container: ContainerDep,
        actor: ActorDep,
        case_state: Annotated[State | None, QueryParameter(name="state")] = None,
        category: Annotated[
            str | None, QueryParameter(min_length=1, max_length=32, pattern=PLAIN_TEXT)
        ] = None,
        level: Annotated[int | None, QueryParameter(ge=1, le=4)] = None,
        overdue: FromQuery[bool | None] = None,
        escalated: FromQuery[bool | None] = None,
        holder: Annotated[UUID | None, QueryParameter(description=HOLDER)] = None,
        reported_from: FromQuery[datetime | None] = None,
        reported_to: FromQuery[datetime | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> CaseBoardPage:
        query = BoardQuery(
            state=case_state, category=category, level=level, overdue=overdue, escalated=escalated,
            holder=holder, reported_from=reported_from, reported_to=reported_to,
        )  # fmt: skip
        return await _page(container, actor, query, limit, offset)

    @get(
        "/overdue",
        operation_id="listOverdueCases",
        summary="Open cases past their stage deadline, in your scope",
        responses=READ_ERRORS,
    )
    async def overdue(
        self, container: ContainerDep, actor: ActorDep, limit: Limit = 50, offset: Offset = 0
    ) -> CaseBoardPage:
        return await _page(container, actor, BoardQuery(overdue=True), limit, offset)

    @get(
        "/escalated",
        operation_id="listEscalatedCases",
        summary="Open cases escalated up the tree for being overdue, in your scope",
        responses=READ_ERRORS,
    )
    async def escalated(
        self, container: ContainerDep, actor: ActorDep, limit: Limit = 50, offset: Offset = 0
    ) -> CaseBoardPage:
        query = BoardQuery(escalated=True, open_only=True)
        return await _page(container, actor, query, limit, offset)


async def _page(
    container: ContainerDep, actor: ActorDep, query: BoardQuery, limit: int, offset: int
) -> CaseBoardPage:
    total, docs = await CaseBoardService(container).board(actor, query, limit=limit, offset=offset)
    return board_page(total, limit, offset, docs)
