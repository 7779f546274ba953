"""Use cases of visits (走访): recorded from the phone under its own id, scoped to the grid.

A phone re-sends a visit until it hears back, so the same id with the same content answers
with the stored visit (``duplicate``); the same id with other content is refused (40911) and
the stored visit is never overwritten. The visit's grid is the household's grid *now*, decided
on the server, never taken from the phone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec
from anyio import to_thread
from eventsourcing.application import AggregateNotFoundError

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.commands import CommandRunner
from backend.services.scope import require_role, require_unit_in_scope
from events.visit import Gps, Visit, VisitFindings, VisitMethod, VisitPurpose
from projections import household_files, visit_log

__all__ = ["CORRECTORS", "VISITORS", "VisitDraft", "VisitFilter", "VisitService"]

VISITORS = ("grid_member", "grid_head", "mediator", "supervisor", "admin")
READERS = (*VISITORS, "auditor")
# Besides the visitor, who may correct or void a visit in their scope (the grid head and up).
CORRECTORS = ("grid_head", "supervisor", "admin")


@dataclass(frozen=True, kw_only=True)
class VisitDraft:
    """A visit as the phone sent it."""

    visit_id: UUID
    household_id: UUID
    purpose: VisitPurpose
    method: VisitMethod
    visited_at: datetime
    findings: VisitFindings
    needs: tuple[str, ...]
    gps: Gps | None
    photos: tuple[str, ...]
    follow_up_case_ids: tuple[UUID, ...]
    client_time: datetime | None


@dataclass(frozen=True, kw_only=True)
class VisitFilter:
    grid_id: UUID | None = None
    household_id: UUID | None = None
    visitor_id: UUID | None = None
    purpose: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    include_voided: bool = False


class VisitService:
    def __init__(self, container: Container) -> None:
        self.pool = container.pool
        self.container = container
        self.commands = CommandRunner(container)

    async def record(self, actor: Actor, draft: VisitDraft) -> tuple[dict[str, Any], bool]:
        """Record the visit; returns its view and whether it had been recorded before."""
        require_role(actor, *VISITORS)
        stored = await self._stored(draft.visit_id)
        if stored is None:
            grid_id = await self._household_grid(actor, draft.household_id)
            visit = _build(draft, grid_id, actor)
            try:
                await self.commands.create(lambda: visit, what="visit")
                return await self.view(actor, visit.id), False
            except ApiError as exc:
                if exc.errcode != 40911:
                    raise
            stored = await self._stored(draft.visit_id)  # a concurrent re-send won the race
            assert stored is not None
        found = await self.view(actor, draft.visit_id)
        if _content(_build(draft, stored.grid_id, actor)) != _content(stored):
            raise ApiError(40911, "visit id already used with other content", id=str(stored.id))
        return found, True

    async def view(self, actor: Actor, visit_id: UUID) -> dict[str, Any]:
        require_role(actor, *READERS)
        row = await visit_log.get_visit(self.pool, visit_id)
        if row is None:
            raise ApiError(40400, "no such visit", id=str(visit_id))
        await require_unit_in_scope(self.pool, actor, row["grid_id"])
        return row

    async def list(
        self, actor: Actor, where: VisitFilter, *, limit: int, offset: int
    ) -> tuple[int, list[dict[str, Any]]]:
        require_role(actor, *READERS)
        if where.grid_id is not None:
            await require_unit_in_scope(self.pool, actor, where.grid_id)
        return await visit_log.list_visits(
            self.pool,
            scope_unit_id=actor.scope_unit_id,
            **{k: getattr(where, k) for k in where.__dataclass_fields__},
            limit=limit,
            offset=offset,
            zone=self.container.clock.zone,
        )

    async def amend(
        self, actor: Actor, visit_id: UUID, *, notes: str | None, needs: tuple[str, ...] | None
    ) -> dict[str, Any]:
        meta = actor.meta()
        return await self._correct(
            actor, visit_id, lambda v: v.amend(notes=notes, needs=needs, meta=meta)
        )

    async def void(self, actor: Actor, visit_id: UUID, reason: str) -> dict[str, Any]:
        meta = actor.meta()
        return await self._correct(actor, visit_id, lambda v: v.void(reason, meta=meta))

    async def _correct(
        self, actor: Actor, visit_id: UUID, decide: Callable[[Visit], Any]
    ) -> dict[str, Any]:
        row = await self.view(actor, visit_id)
        if actor.staff_id != row["visitor_id"] and actor.role not in CORRECTORS:
            raise ApiError(
                40300, "only the visitor or their grid head may correct a visit", role=actor.role
            )
        await self.commands.change(Visit, visit_id, decide, what="visit")
        return await self.view(actor, visit_id)

    async def _household_grid(self, actor: Actor, household_id: UUID) -> UUID:
        doc = await household_files.get_file(self.pool, household_id)
        if doc is None:
            raise ApiError(40400, "no such household", household_id=str(household_id))
        grid_id = UUID(doc["grid_id"])
        await require_unit_in_scope(self.pool, actor, grid_id)
        if doc["status"] != "active":
            raise ApiError(40910, "household is dissolved", state=doc["status"])
        return grid_id

    async def _stored(self, visit_id: UUID) -> Visit | None:
        def run() -> object:
            try:
                return self.container.event_log.repository.get(visit_id)
            except AggregateNotFoundError:
                return None

        found = await to_thread.run_sync(run)
        if found is not None and not isinstance(found, Visit):
            raise ApiError(40911, "id already used by something else", id=str(visit_id))
        return found


def _build(draft: VisitDraft, grid_id: UUID, actor: Actor) -> Visit:
    """The visit as the domain normalises it (also used to compare a re-send)."""
    return Visit.record(
        visit_id=draft.visit_id, household_id=draft.household_id, grid_id=grid_id,
        purpose=draft.purpose, method=draft.method, visited_at=draft.visited_at,
        findings=draft.findings, meta=actor.meta(client_time=draft.client_time),
        needs=draft.needs, gps=draft.gps, photos=draft.photos,
        follow_up_case_ids=draft.follow_up_case_ids,
    )  # fmt: skip


def _content(visit: Visit) -> tuple[Any, ...]:
    """What the phone sent, as first recorded (amendments keep the originals in revisions)."""
    first = visit.revisions[0] if visit.revisions else None
    findings = visit.findings
    needs = visit.needs
    if first is not None:
        findings, needs = msgspec.structs.replace(findings, notes=first.notes), first.needs
    return (
        visit.household_id, visit.purpose, visit.method, visit.visited_at, findings, needs,
        visit.gps, visit.photos, visit.follow_up_case_ids,
    )  # fmt: skip
