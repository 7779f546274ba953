"""Staff endpoints: the roster within scope; admins appoint, reassign, relieve, issue codes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from backend.http.deps import ContainerDep
from backend.http.grid import Name, Reason
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.responses import READ_ERRORS, WRITE_ERRORS
from backend.http.wire import RequestBody
from backend.services.staff import StaffService
from projections import staff_roster

__all__ = ["StaffController"]

Role = Literal["grid_member", "grid_head", "supervisor", "mediator", "auditor", "admin"]


class StaffView(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    work_phone: str
    role: str
    scope_unit_id: UUID
    status: str
    appointed_on: date
    relieved_on: date | None
    version: int
    wechat_bound: bool


class AssignmentView(msgspec.Struct, kw_only=True):
    role: str
    scope_unit_id: UUID
    effective_from: date
    effective_to: date | None
    """Exclusive; ``None`` for the current assignment (or the last one before relief)."""


class StaffPage(msgspec.Struct, kw_only=True):
    total: int
    limit: int
    offset: int
    items: list[StaffView]


class AppointStaff(RequestBody):
    name: Name
    work_phone: Annotated[str, msgspec.Meta(pattern=r"^[0-9+\-]{5,20}$")]
    role: Role
    scope_unit_id: UUID
    effective_from: date | None = None


class ReassignStaff(RequestBody):
    role: Role
    scope_unit_id: UUID
    effective_from: date | None = None


class RelieveStaff(RequestBody):
    reason: Reason
    effective_from: date | None = None


class BindingCodeIssued(msgspec.Struct, kw_only=True):
    binding_code: str
    expires_at: datetime


def view(row: Any) -> StaffView:
    return StaffView(**{f: row[f] for f in StaffView.__struct_fields__})


class StaffController(Controller):
    path = "/v1/staff"
    tags = ["staff"]
    dependencies = actor_dependency
    security = BEARER

    @get(
        operation_id="listStaff",
        summary="Staff whose scope lies inside yours",
        responses=READ_ERRORS,
    )
    async def list_staff(
        self,
        container: ContainerDep,
        actor: ActorDep,
        role: FromQuery[Role | None] = None,
        include_relieved: FromQuery[bool] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> StaffPage:
        total, rows = await staff_roster.list_staff(
            container.pool,
            scope_unit_id=actor.scope_unit_id,
            role=role,
            include_relieved=include_relieved,
            limit=limit,
            offset=offset,
        )
        return StaffPage(total=total, limit=limit, offset=offset, items=[view(r) for r in rows])

    @get(
        "/{staff_id:uuid}",
        operation_id="getStaff",
        summary="One staff member",
        responses=READ_ERRORS,
    )
    async def get_staff(
        self, container: ContainerDep, actor: ActorDep, staff_id: FromPath[UUID]
    ) -> StaffView:
        return view(await StaffService(container).get_in_scope(actor, staff_id))

    @get(
        "/{staff_id:uuid}/assignments",
        operation_id="listStaffAssignments",
        summary="Every role and scope a staff member held, with dates",
        responses=READ_ERRORS,
    )
    async def assignments(
        self, container: ContainerDep, actor: ActorDep, staff_id: FromPath[UUID]
    ) -> list[AssignmentView]:
        await StaffService(container).get_in_scope(actor, staff_id)
        rows = await staff_roster.assignments_of(container.pool, staff_id)
        return [AssignmentView(**dict(r)) for r in rows]

    @post(
        operation_id="appointStaff",
        summary="Appoint a staff member with a role and scope",
        responses=WRITE_ERRORS,
    )
    async def appoint(
        self,
        container: ContainerDep,
        actor: ActorDep,
        data: JSONBody[AppointStaff],
    ) -> StaffView:
        return view(
            await StaffService(container).appoint(
                actor,
                name=data.name,
                work_phone=data.work_phone,
                role=data.role,
                scope_unit_id=data.scope_unit_id,
                effective_from=data.effective_from or container.clock.today(),
            )
        )

    @post(
        "/{staff_id:uuid}/reassign",
        operation_id="reassignStaff",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def reassign(
        self,
        container: ContainerDep,
        actor: ActorDep,
        staff_id: FromPath[UUID],
        data: JSONBody[ReassignStaff],
    ) -> StaffView:
        return view(
            await StaffService(container).reassign(
                actor,
                staff_id,
                role=data.role,
                scope_unit_id=data.scope_unit_id,
                effective_from=data.effective_from or container.clock.today(),
            )
        )

    @post(
        "/{staff_id:uuid}/relieve",
        operation_id="relieveStaff",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def relieve(
        self,
        container: ContainerDep,
        actor: ActorDep,
        staff_id: FromPath[UUID],
        data: JSONBody[RelieveStaff],
    ) -> StaffView:
        return view(
            await StaffService(container).relieve(
                actor,
                staff_id,
                reason=data.reason,
                effective_from=data.effective_from or container.clock.today(),
            )
        )

    @post(
        "/{staff_id:uuid}/binding-code",
        operation_id="issueBindingCode",
        status_code=201,
        responses=WRITE_ERRORS,
    )
    async def binding_code(
        self, container: ContainerDep, actor: ActorDep, staff_id: FromPath[UUID]
    ) -> BindingCodeIssued:
        code, expires_at = await StaffService(container).issue_binding_code(actor, staff_id)
        return BindingCodeIssued(binding_code=code, expires_at=expires_at)
