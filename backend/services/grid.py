"""Use cases of the grid tree: create, rename, move and retire units (admins, in scope)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.commands import CommandRunner
from backend.services.scope import require_role, require_unit_in_scope
from events.grid import GridUnit
from projections import grid_tree

__all__ = ["GridService"]


class GridService:
    def __init__(self, container: Container) -> None:
        self.pool = container.pool
        self.commands = CommandRunner(container)

    async def create(
        self,
        actor: Actor,
        *,
        code: str,
        name: str,
        level: int,
        parent_id: UUID,
        effective_from: date,
    ) -> asyncpg.Record:
        """Levels 2–4 under a parent in scope; towns come from ``gridledger`` set-up."""
        require_role(actor, "admin")
        parent = await require_unit_in_scope(self.pool, actor, parent_id)
        if parent["status"] != "active":
            raise ApiError(40910, "parent unit is retired", state="retired")
        meta = actor.meta()
        await self.commands.create(
            lambda: GridUnit.create(
                code=code,
                name=name,
                level=level,
                parent_id=parent_id,
                parent_level=parent["level"],
                parent_code=parent["code"],
                effective_from=effective_from,
                meta=meta,
            ),
            what="grid unit with this code",
        )
        return await self._fresh(GridUnit.id_for_code(code))

    async def rename(
        self, actor: Actor, unit_id: UUID, *, name: str, effective_from: date
    ) -> asyncpg.Record:
        await self._check(actor, unit_id)
        meta = actor.meta()
        await self.commands.change(
            GridUnit, unit_id, lambda u: u.rename(name, effective_from, meta=meta), what="grid unit"
        )
        return await self._fresh(unit_id)

    async def move(
        self, actor: Actor, unit_id: UUID, *, new_parent_id: UUID, effective_from: date
    ) -> asyncpg.Record:
        await self._check(actor, unit_id, not_root=True)
        parent = await require_unit_in_scope(self.pool, actor, new_parent_id)
        if unit_id in parent["path"]:
            raise ApiError(40010, "a unit cannot move under itself or its descendants")
        meta = actor.meta()
        await self.commands.change(
            GridUnit,
            unit_id,
            lambda u: u.move(new_parent_id, parent["level"], effective_from, meta=meta),
            what="grid unit",
        )
        return await self._fresh(unit_id)

    async def retire(
        self, actor: Actor, unit_id: UUID, *, reason: str, effective_from: date
    ) -> asyncpg.Record:
        await self._check(actor, unit_id, not_root=True)
        active_children = await self.pool.fetchval(
            "SELECT count(*) FROM grid_units WHERE parent_id = $1 AND status = 'active'", unit_id
        )
        if active_children:
            raise ApiError(
                40910,
                "retire or move the unit's children first",
                state="has_active_children",
                active_children=active_children,
            )
        meta = actor.meta()
        await self.commands.change(
            GridUnit,
            unit_id,
            lambda u: u.retire(effective_from, reason, meta=meta),
            what="grid unit",
        )
        return await self._fresh(unit_id)

    async def _check(self, actor: Actor, unit_id: UUID, *, not_root: bool = False) -> None:
        require_role(actor, "admin")
        await require_unit_in_scope(self.pool, actor, unit_id)
        if not_root and unit_id == actor.scope_unit_id:
            raise ApiError(40301, "the root of your own scope is managed above you")

    async def _fresh(self, unit_id: UUID) -> asyncpg.Record:
        unit = await grid_tree.get_unit(self.pool, unit_id)
        assert unit is not None, "projection awaited after the save"
        return unit
