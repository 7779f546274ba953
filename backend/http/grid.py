"""Grid tree endpoints: read within scope; admins create, rename, move and retire units."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from backend.errors import ApiError
from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.responses import READ_ERRORS, WRITE_ERRORS
from backend.http.wire import RequestBody
from backend.services.grid import GridService
from backend.services.scope import require_unit_in_scope
from projections import grid_tree

__all__ = ["GridController"]

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class GridUnitView(msgspec.Struct, kw_only=True):
    id: UUID
    code: str
    name: str
    level: int
    parent_id: UUID | None
    status: str
    effective_from: date
    version: int
    path: list[UUID]


class CreateGridUnit(RequestBody):
    code: Annotated[str, msgspec.Meta(pattern=r"^\d{12,17}$")]
    name: Name
    level: Annotated[int, msgspec.Meta(ge=2, le=4)]
    parent_id: UUID
    effective_from: date | None = None


class RenameGridUnit(RequestBody):
    name: Name
    effective_from: date | None = None


class MoveGridUnit(RequestBody):
    new_parent_id: UUID
    effective_from: date | None = None


class RetireGridUnit(RequestBody):
    reason: Reason
    effective_from: date | None = None


def view(row: Any) -> GridUnitView:
    return GridUnitView(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        level=row["level"],
        parent_id=row["parent_id"],
        status=row["status"],
        effective_from=row["effective_from"],
        version=row["version"],
        path=list(row.get("path") or []),
    )


class GridController(Controller):
    path = "/v1/grid-units"
    tags = ["grid"]
    dependencies = actor_dependency
    security = BEARER

    @get(operation_id="listGridUnits", summary="Grid units in your scope", responses=READ_ERRORS)
    async def list_units(
        self,
        container: ContainerDep,
        actor: ActorDep,
        level: Annotated[int | None, QueryParameter(ge=1, le=4)] = None,
        include_retired: FromQuery[bool] = False,
    ) -> list[GridUnitView]:
        rows = await grid_tree.list_units(
            container.pool,
            scope_unit_id=actor.scope_unit_id,
            level=level,
            include_retired=include_retired,
        )
        return [view(r) for r in rows]

    @get(
        "/{unit_id:uuid}",
        operation_id="getGridUnit",
        summary="One unit, now or as of a date",
        responses=READ_ERRORS,
    )
    async def get_unit(
        self,
        container: ContainerDep,
        actor: ActorDep,
        unit_id: FromPath[UUID],
        as_of: FromQuery[date | None] = None,
    ) -> GridUnitView:
        unit = await require_unit_in_scope(container.pool, actor, unit_id)
        if as_of is None:
            return view(unit)
        rows = await grid_tree.units_as_of(container.pool, [unit_id], as_of)
        if not rows:
            raise ApiError(40400, "the unit did not exist on that date", as_of=str(as_of))
        return view({**dict(rows[0]), "path": []})

    @post(
        operation_id="createGridUnit",
        summary="Create a village, grid or micro-grid",
        responses=WRITE_ERRORS,
    )
    async def create(
        self,
        container: ContainerDep,
        actor: ActorDep,
        data: JSONBody[CreateGridUnit],
    ) -> GridUnitView:
        return view(
            await GridService(container).create(
                actor,
                code=data.code,
                name=data.name,
                level=data.level,
                parent_id=data.parent_id,
                effective_from=data.effective_from or container.clock.today(),
            )
        )

    @post(
        "/{unit_id:uuid}/rename",
        operation_id="renameGridUnit",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def rename(
        self,
        container: ContainerDep,
        actor: ActorDep,
        unit_id: FromPath[UUID],
        data: JSONBody[RenameGridUnit],
    ) -> GridUnitView:
        return view(
            await GridService(container).rename(
                actor,
                unit_id,
                name=data.name,
                effective_from=data.effective_from or container.clock.today(),
            )
        )

    @post(
        "/{unit_id:uuid}/move", operation_id="moveGridUnit", status_code=200, responses=WRITE_ERRORS
    )
    async def move(
        self,
        container: ContainerDep,
        actor: ActorDep,
        unit_id: FromPath[UUID],
        data: JSONBody[MoveGridUnit],
    ) -> GridUnitView:
        return view(
            await GridService(container).move(
                actor,
                unit_id,
                new_parent_id=data.new_parent_id,
                effective_from=data.effective_from or container.clock.today(),
            )
        )

    @post(
        "/{unit_id:uuid}/retire",
        operation_id="retireGridUnit",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def retire(
        self,
        container: ContainerDep,
        actor: ActorDep,
        unit_id: FromPath[UUID],
        data: JSONBody[RetireGridUnit],
    ) -> GridUnitView:
        return view(
            await GridService(container).retire(
                actor,
                unit_id,
                reason=data.reason,
                effective_from=data.effective_from or container.clock.today(),
            )
        )
