"""The one check of an award's source, shared by ``POST /v1/awards``, the pushed
``award.proposed`` and the approval (the rules are in :mod:`events.award_source`).

Reads come through :class:`SourceReads`, so each caller reads the way it decides: HTTP and the
approval read the stored log; push reads the batch's view of it (a visit pushed earlier in the
same batch is a source already). Outcomes, the same errcode on every path:

* the source is not in the log: :class:`SourceUnknown` — 404 40400 over HTTP; push defers the
  event (``waiting_for`` the source) and the server applies it when the source arrives;
* the source is outside the proposer's scope — none of its units lies in the scope and the
  proposer is not one of the staff it concerns: 403 40301, before anything about it is told;
* then the domain's kind (40030), owner (40031) and state (40932) checks.

The approval checks again without the scope (the decider's scope was checked on the award):
a source voided or reopened since the proposal earns nothing.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

import asyncpg
import msgspec
from anyio import to_thread
from eventsourcing.application import AggregateNotFoundError

from backend.bootstrap import Container
from backend.errors import ApiError
from events.award_source import AwardOwner, AwardSource, award_source, check_source, waiting_kind
from events.household import Household
from events.mediation import Mediation
from events.point_rules import RuleVersion
from projections import grid_tree, mediation_register

__all__ = ["LogReads", "SourceReads", "SourceUnknown", "require_source"]


class SourceReads(Protocol):
    """What the check reads: aggregates by id, and whether a unit lies in the proposer's
    scope (always true when nobody's scope applies, e.g. at approval)."""

    pool: asyncpg.Pool

    async def record(self, record_id: UUID) -> object | None: ...

    async def in_scope(self, unit_id: UUID) -> bool: ...


class SourceUnknown(ApiError):
    """The source is not in the log (yet). ``waiting_for`` is what a pushed award waits for."""

    def __init__(self, source_id: UUID, rule: RuleVersion) -> None:
        super().__init__(
            40400, "no such source event", field="source_event_id", source_event_id=str(source_id)
        )
        self.waiting_for = f"{waiting_kind(rule.trigger)}:{source_id}"


class LogReads:
    """The stored log; ``scope_unit_id`` None means no proposer's scope applies."""

    def __init__(self, container: Container, scope_unit_id: UUID | None) -> None:
        self.container, self.pool, self.scope_unit_id = container, container.pool, scope_unit_id

    async def record(self, record_id: UUID) -> object | None:
        def run() -> object | None:
            try:
                found: object = self.container.event_log.repository.get(record_id)
            except AggregateNotFoundError:
                return None
            return found

        return await to_thread.run_sync(run)

    async def in_scope(self, unit_id: UUID) -> bool:
        if self.scope_unit_id is None:
            return True
        return await grid_tree.unit_in_scope(self.pool, unit_id, self.scope_unit_id)


async def require_source(
    reads: SourceReads,
    *,
    rule: RuleVersion,
    source_id: UUID,
    owner_kind: str,
    owner_id: UUID,
    proposer: UUID | None,
) -> None:
    """Raise unless ``source_id`` may earn an award under ``rule`` for the owner, cited by
    ``proposer`` (None at approval: no proposer's scope applies)."""
    record = await reads.record(source_id)
    if record is None:
        raise SourceUnknown(source_id, rule)
    source = await _facts(reads, record)
    if source is not None and proposer is not None and not await _visible(reads, source, proposer):
        raise ApiError(
            40301, "source event outside your scope", field="source_event_id",
            source_event_id=str(source_id),
        )  # fmt: skip
    check_source(rule.trigger, source, await _owner(reads, owner_kind, owner_id))


async def _facts(reads: SourceReads, record: object) -> AwardSource | None:
    source = award_source(record)
    if source is None or not isinstance(record, Mediation):
        return source
    return msgspec.structs.replace(source, units=await _party_grids(reads, record))


async def _party_grids(reads: SourceReads, mediation: Mediation) -> frozenset[UUID]:
    """The grids of the parties' households (a person's household found in the files)."""
    grids = set()
    for party in mediation.parties:
        household_id: UUID | None = party.ref_id
        if party.kind == "person":
            household_id = await mediation_register.household_of_person(reads.pool, party.ref_id)
        household = None if household_id is None else await reads.record(household_id)
        if isinstance(household, Household):
            grids.add(household.grid_id)
    return frozenset(grids)


async def _visible(reads: SourceReads, source: AwardSource, proposer: UUID) -> bool:
    if proposer in source.staff:
        return True  # their own visit, report, assignment or mediation
    for unit in source.units:
        if await reads.in_scope(unit):
            return True
    return False


async def _owner(reads: SourceReads, kind: str, owner_id: UUID) -> AwardOwner:
    if kind != "household":
        return AwardOwner(kind="staff", owner_id=owner_id)
    household = await reads.record(owner_id)
    persons: frozenset[UUID] = frozenset()
    if isinstance(household, Household):
        persons = frozenset(household.persons) | frozenset(household.removed)
    return AwardOwner(kind="household", owner_id=owner_id, persons=persons)
