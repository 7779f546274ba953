"""Household ledger endpoints (一户一档): files masked per role, edits with a base version."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.household_schemas import (
    AddPerson,
    DissolveHousehold,
    HouseholdFileView,
    HouseholdPage,
    MoveHousehold,
    RegisterHousehold,
    RemovePerson,
    ResolveConflict,
    TagPerson,
    UpdateHousehold,
    UpdateResult,
    file_view,
    to_changes,
    to_record,
)
from backend.http.responses import READ_ERRORS, WRITE_ERRORS
from backend.http.wire import PLAIN_TEXT
from backend.services.households import HouseholdService

__all__ = ["HouseholdController"]


class HouseholdController(Controller):
    path = "/v1/households"
    tags = ["households"]
    dependencies = actor_dependency
    security = BEARER

    @get(
        operation_id="listHouseholds",
        summary="Household files in your scope, masked",
        responses=READ_ERRORS,
    )
    async def list_households(
        self,
        container: ContainerDep,
        actor: ActorDep,
        grid_id: FromQuery[UUID | None] = None,
        status: FromQuery[Literal["active", "dissolved"] | None] = None,
        tag: Annotated[str | None, QueryParameter(max_length=40, pattern=PLAIN_TEXT)] = None,
        q: Annotated[
            str | None, QueryParameter(min_length=1, max_length=40, pattern=PLAIN_TEXT)
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> HouseholdPage:
        total, docs = await HouseholdService(container).list(
            actor, grid_id=grid_id, status=status, tag=tag, q=q, limit=limit, offset=offset
        )
        return HouseholdPage(
            total=total, limit=limit, offset=offset, items=[file_view(d) for d in docs]
        )

    @get(
        "/{household_id:uuid}",
        operation_id="getHousehold",
        summary="One household file",
        responses=READ_ERRORS,
    )
    async def get_household(
        self, container: ContainerDep, actor: ActorDep, household_id: FromPath[UUID]
    ) -> HouseholdFileView:
        return file_view(await HouseholdService(container).file_for(actor, household_id))

    @post(
        operation_id="registerHousehold",
        summary="Register a household and its members",
        responses=WRITE_ERRORS,
    )
    async def register(
        self,
        container: ContainerDep,
        actor: ActorDep,
        data: JSONBody[RegisterHousehold],
    ) -> HouseholdFileView:
        return file_view(
            await HouseholdService(container).register(
                actor,
                household_no=data.household_no,
                grid_id=data.grid_id,
                address=data.address,
                phone=data.phone,
                persons=tuple(to_record(p) for p in data.persons),
                effective_from=data.effective_from or container.clock.today(),
                house_type=data.house_type,
                notes=data.notes,
            )
        )

    @post(
        "/{household_id:uuid}/updates",
        operation_id="updateHousehold",
        status_code=200,
        summary="Edit fields from a base version; races become recorded conflicts",
        responses=WRITE_ERRORS,
    )
    async def update(
        self,
        container: ContainerDep,
        actor: ActorDep,
        household_id: FromPath[UUID],
        data: JSONBody[UpdateHousehold],
    ) -> UpdateResult:
        doc, conflicts = await HouseholdService(container).update(
            actor,
            household_id,
            base_version=data.base_version,
            changes=to_changes(data.changes),
            client_time=data.client_time,
        )
        return UpdateResult(household=file_view(doc), conflict_ids=list(conflicts))

    @post(
        "/{household_id:uuid}/conflicts/{conflict_id:uuid}/resolve",
        status_code=200,
        operation_id="resolveHouseholdConflict",
        summary="Choose the value of a conflict",
        responses=WRITE_ERRORS,
    )
    async def resolve(
        self,
        container: ContainerDep,
        actor: ActorDep,
        household_id: FromPath[UUID],
        conflict_id: FromPath[UUID],
        data: JSONBody[ResolveConflict],
    ) -> HouseholdFileView:
        return file_view(
            await HouseholdService(container).resolve_conflict(
                actor, household_id, conflict_id, data.value
            )
        )

    @post(
        "/{household_id:uuid}/persons",
        operation_id="addHouseholdPerson",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def add_person(
        self,
        container: ContainerDep,
        actor: ActorDep,
        household_id: FromPath[UUID],
        data: JSONBody[AddPerson],
    ) -> HouseholdFileView:
        return file_view(
            await HouseholdService(container).add_person(actor, household_id, to_record(data))
        )

    @post(
        "/{household_id:uuid}/persons/{person_id:uuid}/remove",
        status_code=200,
        operation_id="removeHouseholdPerson",
        responses=WRITE_ERRORS,
    )
    async def remove_person(
        self,
        container: ContainerDep,
        actor: ActorDep,
        household_id: FromPath[UUID],
        person_id: FromPath[UUID],
        data: JSONBody[RemovePerson],
    ) -> HouseholdFileView:
        return file_view(
            await HouseholdService(container).remove_person(
                actor, household_id, person_id, data.reason
            )
        )

    @post(
        "/{household_id:uuid}/persons/{person_id:uuid}/tag",
        status_code=200,
        operation_id="tagHouseholdPerson",
        responses=WRITE_ERRORS,
    )
    async def tag(
        self,
        container: ContainerDep,
        actor: ActorDep,
        household_id: FromPath[UUID],
        person_id: FromPath[UUID],
        data: JSONBody[TagPerson],
    ) -> HouseholdFileView:
        return file_view(
            await HouseholdService(container).set_tag(
                actor, household_id, person_id, data.tag, present=True
            )
        )

    @post(
        "/{household_id:uuid}/persons/{person_id:uuid}/untag",
        status_code=200,
        operation_id="untagHouseholdPerson",
        responses=WRITE_ERRORS,
    )
    async def untag(
        self,
        container: ContainerDep,
        actor: ActorDep,
        household_id: FromPath[UUID],
        person_id: FromPath[UUID],
        data: JSONBody[TagPerson],
    ) -> HouseholdFileView:
        return file_view(
            await HouseholdService(container).set_tag(
                actor, household_id, person_id, data.tag, present=False
            )
        )

    @post(
        "/{household_id:uuid}/move",
        operation_id="moveHousehold",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def move(
        self,
        container: ContainerDep,
        actor: ActorDep,
        household_id: FromPath[UUID],
        data: JSONBody[MoveHousehold],
    ) -> HouseholdFileView:
        return file_view(
            await HouseholdService(container).move(
                actor, household_id, data.grid_id, data.effective_from or container.clock.today()
            )
        )

    @post(
        "/{household_id:uuid}/dissolve",
        operation_id="dissolveHousehold",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def dissolve(
        self,
        container: ContainerDep,
        actor: ActorDep,
        household_id: FromPath[UUID],
        data: JSONBody[DissolveHousehold],
    ) -> HouseholdFileView:
        return file_view(
            await HouseholdService(container).dissolve(
                actor, household_id, data.reason, data.effective_from or container.clock.today()
            )
        )
