"""Use cases of dispute mediation (调解): opened on the phone, scoped by the parties' households.

Opening needs the caller's scope to cover every party's household (a grid member mediates in
their own grid; a dispute across grids is opened by the head above both). Reading needs one
of them: the staff responsible for either side see the dispute. Re-sending an opening with
the same id and content answers with the stored mediation (``duplicate``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from anyio import to_thread
from eventsourcing.application import AggregateNotFoundError

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.commands import CommandRunner
from backend.services.scope import require_role, require_unit_in_scope
from backend.services.visits import VisitService
from events.case import Case
from events.mediation import Mediation, MediationOutcome, Mediator, Party, ReferredTo
from projections import household_files, mediation_register, staff_roster

__all__ = [
    "MEDIATORS",
    "MediationDraft",
    "MediationService",
    "Outcome",
    "build_mediation",
    "check_mediators",
]

MEDIATORS = ("grid_member", "grid_head", "mediator", "supervisor", "admin")
READERS = (*MEDIATORS, "auditor")


@dataclass(frozen=True, kw_only=True)
class MediationDraft:
    mediation_id: UUID
    case_id: UUID | None
    parties: tuple[Party, ...]
    mediators: tuple[Mediator, ...]
    client_time: datetime | None


@dataclass(frozen=True, kw_only=True)
class Outcome:
    outcome: MediationOutcome
    referred_to: ReferredTo | None
    agreement_summary: str | None
    agreement_photo: str | None
    follow_up_due: date | None
    client_time: datetime | None


class MediationService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.pool = container.pool
        self.commands = CommandRunner(container)

    async def open(self, actor: Actor, draft: MediationDraft) -> tuple[dict[str, Any], bool]:
        """Open the mediation; returns its view and whether it was opened before."""
        require_role(actor, *MEDIATORS)
        stored = await self._stored(draft.mediation_id)
        if stored is None:
            await self._check_references(actor, draft)
            mediation = build_mediation(draft, actor)
            try:
                await self.commands.create(lambda: mediation, what="mediation")
                return await self.view(actor, mediation.id), False
            except ApiError as exc:
                if exc.errcode != 40911:
                    raise
            stored = await self._stored(draft.mediation_id)
            assert stored is not None
        found = await self.view(actor, draft.mediation_id)
        fresh = build_mediation(draft, actor)
        if _content(fresh) != _content(stored):
            raise ApiError(40911, "mediation id already used with other content", id=str(stored.id))
        return found, True

    async def view(self, actor: Actor, mediation_id: UUID) -> dict[str, Any]:
        require_role(actor, *READERS)
        row = await mediation_register.get_mediation(self.pool, mediation_id)
        if row is None:
            raise ApiError(40400, "no such mediation", id=str(mediation_id))
        if not await mediation_register.mediation_in_scope(
            self.pool, mediation_id, actor.scope_unit_id
        ):
            raise ApiError(40301, "mediation outside your scope", id=str(mediation_id))
        return row

    async def list(
        self,
        actor: Actor,
        *,
        state: str | None,
        outcome: str | None,
        date_from: date | None,
        date_to: date | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[dict[str, Any]]]:
        require_role(actor, *READERS)
        return await mediation_register.list_mediations(
            self.pool, scope_unit_id=actor.scope_unit_id, state=state, outcome=outcome,
            date_from=date_from, date_to=date_to, limit=limit, offset=offset,
            zone=self.container.clock.zone,
        )  # fmt: skip

    async def record_session(
        self,
        actor: Actor,
        mediation_id: UUID,
        *,
        session_id: UUID,
        held_at: datetime,
        notes: str,
        attendees: tuple[UUID, ...],
        client_time: datetime | None,
    ) -> dict[str, Any]:
        meta = actor.meta(client_time=client_time)
        return await self._change(
            actor,
            mediation_id,
            lambda m: m.record_session(session_id, held_at, notes, attendees, meta=meta),
        )

    async def conclude(self, actor: Actor, mediation_id: UUID, end: Outcome) -> dict[str, Any]:
        meta = actor.meta(client_time=end.client_time)
        return await self._change(
            actor,
            mediation_id,
            lambda m: m.conclude(
                end.outcome, meta=meta, referred_to=end.referred_to,
                agreement_summary=end.agreement_summary, agreement_photo=end.agreement_photo,
                follow_up_due=end.follow_up_due,
            ),
        )  # fmt: skip

    async def record_follow_up(
        self,
        actor: Actor,
        mediation_id: UUID,
        *,
        visit_id: UUID,
        result: str,
        client_time: datetime | None,
    ) -> dict[str, Any]:
        row = await self.view(actor, mediation_id)
        visit = await VisitService(self.container).view(actor, visit_id)
        if visit["household_id"] not in row["household_ids"] or visit["voided"]:
            raise ApiError(
                40010, "the follow-up visit must be a live visit to a party", field="visit_id"
            )
        meta = actor.meta(client_time=client_time)
        return await self._change(
            actor, mediation_id, lambda m: m.record_follow_up(visit_id, result, meta=meta)
        )

    async def _change(
        self, actor: Actor, mediation_id: UUID, decide: Callable[[Mediation], Any]
    ) -> dict[str, Any]:
        require_role(actor, *MEDIATORS)
        await self.view(actor, mediation_id)
        await self.commands.change(Mediation, mediation_id, decide, what="mediation")
        return await self.view(actor, mediation_id)

    async def _check_references(self, actor: Actor, draft: MediationDraft) -> None:
        """Every party's household in scope, every staff mediator and the case exist."""
        for party in draft.parties:
            await self._party_in_scope(actor, party)
        await check_mediators(self.container, draft.mediators)
        if draft.case_id is not None:
            await self.commands.load(Case, draft.case_id, what="case")

    async def _party_in_scope(self, actor: Actor, party: Party) -> None:
        household_id: UUID | None = party.ref_id
        if party.kind == "person":
            household_id = await mediation_register.household_of_person(self.pool, party.ref_id)
        doc = None if household_id is None else await household_files.get_file(
            self.pool, household_id
        )  # fmt: skip
        if doc is None:
            raise ApiError(40400, f"no such {party.kind}", ref_id=str(party.ref_id))
        await require_unit_in_scope(self.pool, actor, UUID(doc["grid_id"]))

    async def _stored(self, mediation_id: UUID) -> Mediation | None:
        def run() -> object:
            try:
                return self.container.event_log.repository.get(mediation_id)
            except AggregateNotFoundError:
                return None

        found = await to_thread.run_sync(run)
        if found is not None and not isinstance(found, Mediation):
            raise ApiError(40911, "id already used by something else", id=str(mediation_id))
        return found


async def check_mediators(container: Container, mediators: tuple[Mediator, ...]) -> None:
    """Every mediator named with a staff id is on the staff roster (push shares this)."""
    for mediator in mediators:
        if mediator.staff_id is not None and not await staff_roster.get_staff(
            container.pool, mediator.staff_id
        ):
            raise ApiError(40400, "no such staff member", staff_id=str(mediator.staff_id))


def build_mediation(draft: MediationDraft, actor: Actor) -> Mediation:
    return Mediation.open(
        mediation_id=draft.mediation_id,
        case_id=draft.case_id,
        parties=draft.parties,
        mediators=draft.mediators,
        meta=actor.meta(client_time=draft.client_time),
    )


def _content(mediation: Mediation) -> tuple[Any, ...]:
    return mediation.case_id, mediation.parties, mediation.mediators
