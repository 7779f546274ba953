"""Use cases of the household ledger (一户一档), scoped to the caller's grids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.commands import CommandRunner
from backend.services.scope import require_role, require_unit_in_scope
from events.household import Household
from events.household_fields import FieldChange, PersonRecord, RemovalReason
from events.privacy import REVIEW_ROLES
from projections import household_files

__all__ = ["EDITORS", "RESOLVERS", "HouseholdService"]

EDITORS = ("grid_member", "grid_head", "supervisor", "admin")
RESOLVERS = ("grid_head", "supervisor", "admin")
READERS = (*EDITORS, "mediator", "auditor")
# Only the staff directly responsible for the household's grid need special-population detail.
NEED_TO_KNOW_ROLES = ("grid_member", "grid_head")


class HouseholdService:
    def __init__(self, container: Container) -> None:
        self.pool = container.pool
        self.clock = container.clock
        self.commands = CommandRunner(container)

    async def register(
        self,
        actor: Actor,
        *,
        household_no: str,
        grid_id: UUID,
        address: str,
        phone: str | None,
        persons: tuple[PersonRecord, ...],
        effective_from: date,
        house_type: str | None,
        notes: str | None,
    ) -> dict[str, Any]:
        require_role(actor, *EDITORS)
        await self._require_grid(actor, grid_id)
        meta = actor.meta()
        household = Household.register(
            household_no=household_no,
            grid_id=grid_id,
            address=address,
            phone=phone,
            persons=persons,
            effective_from=effective_from,
            meta=meta,
            house_type=house_type,
            notes=notes,
        )
        await self.commands.create(lambda: household, what="household with this number")
        return await self.file_for(actor, household.id)

    async def update(
        self,
        actor: Actor,
        household_id: UUID,
        *,
        base_version: int,
        changes: tuple[FieldChange, ...],
        client_time: datetime | None,
    ) -> tuple[dict[str, Any], tuple[UUID, ...]]:
        meta = actor.meta(client_time=client_time)
        conflicts: list[tuple[UUID, ...]] = []
        await self._change(
            actor,
            household_id,
            lambda h: conflicts.append(h.update(changes, base_version, meta=meta)),
        )
        return await self.file_for(actor, household_id), conflicts[-1]

    async def resolve_conflict(
        self, actor: Actor, household_id: UUID, conflict_id: UUID, value: str | None
    ) -> dict[str, Any]:
        require_role(actor, *RESOLVERS)
        meta = actor.meta()
        return await self._change(
            actor, household_id, lambda h: h.resolve_conflict(conflict_id, value, meta=meta)
        )

    async def add_person(
        self, actor: Actor, household_id: UUID, person: PersonRecord
    ) -> dict[str, Any]:
        meta = actor.meta()
        return await self._change(actor, household_id, lambda h: h.add_person(person, meta=meta))

    async def remove_person(
        self, actor: Actor, household_id: UUID, person_id: UUID, reason: RemovalReason
    ) -> dict[str, Any]:
        meta = actor.meta()
        return await self._change(
            actor, household_id, lambda h: h.remove_person(person_id, reason, meta=meta)
        )

    async def set_tag(
        self, actor: Actor, household_id: UUID, person_id: UUID, tag: str, *, present: bool
    ) -> dict[str, Any]:
        meta = actor.meta()
        if present:
            return await self._change(
                actor, household_id, lambda h: h.tag_person(person_id, tag, meta=meta)
            )
        return await self._change(
            actor, household_id, lambda h: h.untag_person(person_id, tag, meta=meta)
        )

    async def move(
        self, actor: Actor, household_id: UUID, grid_id: UUID, effective_from: date
    ) -> dict[str, Any]:
        await self._require_grid(actor, grid_id)
        meta = actor.meta()
        return await self._change(
            actor, household_id, lambda h: h.move_to_grid(grid_id, effective_from, meta=meta)
        )

    async def dissolve(
        self, actor: Actor, household_id: UUID, reason: str, effective_from: date
    ) -> dict[str, Any]:
        meta = actor.meta()
        return await self._change(
            actor, household_id, lambda h: h.dissolve(reason, effective_from, meta=meta)
        )

    async def file_for(self, actor: Actor, household_id: UUID) -> dict[str, Any]:
        """The household file masked for the caller, after a scope check."""
        require_role(actor, *READERS)
        doc = await household_files.get_file(self.pool, household_id)
        if doc is None:
            raise ApiError(40400, "no such household", id=str(household_id))
        await require_unit_in_scope(self.pool, actor, UUID(doc["grid_id"]))
        return self.masked(actor, doc)

    async def list(
        self,
        actor: Actor,
        *,
        grid_id: UUID | None,
        status: str | None,
        tag: str | None,
        q: str | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[dict[str, Any]]]:
        require_role(actor, *READERS)
        if grid_id is not None:
            await require_unit_in_scope(self.pool, actor, grid_id)
        need_to_know, today = actor.role in NEED_TO_KNOW_ROLES, self.clock.today()
        if tag is not None and not need_to_know:
            # Filtering by a special-population tag would reveal it (privacy rule 3).
            raise ApiError(40300, "your role may not filter by person tags", role=actor.role)
        total, docs = await household_files.list_files(
            self.pool,
            scope_unit_id=actor.scope_unit_id,
            grid_id=grid_id,
            status=status,
            tag=tag,
            q=q,
            limit=limit,
            offset=offset,
            # Roles that see names masked must not search by them (children's too).
            search_names=actor.role not in REVIEW_ROLES,
            minor_heads_masked_on=None if need_to_know else today,
        )
        return total, [self.masked(actor, d) for d in docs]

    def masked(self, actor: Actor, doc: dict[str, Any]) -> dict[str, Any]:
        return household_files.masked_file(
            doc,
            role=actor.role,
            need_to_know=actor.role in NEED_TO_KNOW_ROLES,
            on=self.clock.today(),
        )

    async def _change(
        self, actor: Actor, household_id: UUID, decide: Callable[[Household], Any]
    ) -> dict[str, Any]:
        require_role(actor, *EDITORS)
        await self.file_for(actor, household_id)  # scope check on the current grid
        await self.commands.change(Household, household_id, decide, what="household")
        return await self.file_for(actor, household_id)

    async def _require_grid(self, actor: Actor, grid_id: UUID) -> None:
        unit = await require_unit_in_scope(self.pool, actor, grid_id)
        if unit["level"] < 3 or unit["status"] != "active":
            raise ApiError(
                40010,
                "households belong to an active grid or micro-grid (level 3-4)",
                grid_id=str(grid_id),
            )
