"""Mediation endpoints (矛盾纠纷调解): open, sessions, conclusion and follow-up visits."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from backend.http.deps import ContainerDep
from backend.http.field_schemas import (
    ConcludeMediation,
    MediationPage,
    MediationView,
    OpenMediation,
    RecordFollowUp,
    RecordSession,
    mediation_view,
)
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.responses import READ_ERRORS, WRITE_ERRORS
from backend.services.mediations import MediationDraft, MediationService, Outcome

__all__ = ["MediationController"]

_REPEATED = ResponseSpec(MediationView, description="Opened before under this id (duplicate)")


class MediationController(Controller):
    path = "/v1/mediations"
    tags = ["mediations"]
    dependencies = actor_dependency
    security = BEARER

    @post(
        operation_id="openMediation",
        summary="Open a mediation under the phone's id; a re-send answers 200 duplicate",
        responses={**WRITE_ERRORS, 200: _REPEATED},
    )
    async def open_mediation(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[OpenMediation]
    ) -> Response[MediationView]:
        draft = MediationDraft(
            mediation_id=data.mediation_id, case_id=data.case_id,
            parties=tuple(p.domain() for p in data.parties),
            mediators=tuple(m.domain() for m in data.mediators), client_time=data.client_time,
        )  # fmt: skip
        row, duplicate = await MediationService(container).open(actor, draft)
        view = mediation_view(row, duplicate=duplicate)
        return Response(view, status_code=200 if duplicate else 201)

    @get(operation_id="listMediations", summary="Mediations in your scope", responses=READ_ERRORS)
    async def list_mediations(
        self,
        container: ContainerDep,
        actor: ActorDep,
        mediation_state: Annotated[
            Literal["open", "concluded"] | None, QueryParameter(name="state")
        ] = None,
        outcome: FromQuery[Literal["agreement", "failed", "referred"] | None] = None,
        date_from: FromQuery[date | None] = None,
        date_to: FromQuery[date | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> MediationPage:
        total, rows = await MediationService(container).list(
            actor, state=mediation_state, outcome=outcome, date_from=date_from, date_to=date_to,
            limit=limit, offset=offset,
        )  # fmt: skip
        items = [mediation_view(r) for r in rows]
        return MediationPage(total=total, limit=limit, offset=offset, items=items)

    @get(
        "/{mediation_id:uuid}",
        operation_id="getMediation",
        summary="One mediation",
        responses=READ_ERRORS,
    )
    async def get_mediation(
        self, container: ContainerDep, actor: ActorDep, mediation_id: FromPath[UUID]
    ) -> MediationView:
        return mediation_view(await MediationService(container).view(actor, mediation_id))

    @post(
        "/{mediation_id:uuid}/sessions",
        operation_id="recordMediationSession",
        status_code=200,
        summary="Record a session; re-sending the same session_id is a no-op",
        responses=WRITE_ERRORS,
    )
    async def record_session(
        self,
        container: ContainerDep,
        actor: ActorDep,
        mediation_id: FromPath[UUID],
        data: JSONBody[RecordSession],
    ) -> MediationView:
        row = await MediationService(container).record_session(
            actor, mediation_id, session_id=data.session_id, held_at=data.held_at,
            notes=data.notes, attendees=tuple(data.attendees), client_time=data.client_time,
        )  # fmt: skip
        return mediation_view(row)

    @post(
        "/{mediation_id:uuid}/conclude",
        operation_id="concludeMediation",
        status_code=200,
        summary="Conclude once: agreement, failed, or referred (with referred_to)",
        responses=WRITE_ERRORS,
    )
    async def conclude(
        self,
        container: ContainerDep,
        actor: ActorDep,
        mediation_id: FromPath[UUID],
        data: JSONBody[ConcludeMediation],
    ) -> MediationView:
        end = Outcome(
            outcome=data.outcome, referred_to=data.referred_to,
            agreement_summary=data.agreement_summary, agreement_photo=data.agreement_photo,
            follow_up_due=data.follow_up_due, client_time=data.client_time,
        )  # fmt: skip
        return mediation_view(await MediationService(container).conclude(actor, mediation_id, end))

    @post(
        "/{mediation_id:uuid}/follow-ups",
        operation_id="recordMediationFollowUp",
        status_code=200,
        summary="Record a follow-up visit's finding (the visit is to a party's household)",
        responses=WRITE_ERRORS,
    )
    async def record_follow_up(
        self,
        container: ContainerDep,
        actor: ActorDep,
        mediation_id: FromPath[UUID],
        data: JSONBody[RecordFollowUp],
    ) -> MediationView:
        row = await MediationService(container).record_follow_up(
            actor, mediation_id, visit_id=data.visit_id, result=data.result,
            client_time=data.client_time,
        )  # fmt: skip
        return mediation_view(row)
