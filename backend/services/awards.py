"""Use cases of awards (积分/表彰): proposed from a phone, decided by a grid head or above.

One award per (rule, source event, account): the id is ``Award.id_for(...)``, so a retried
proposal finds the first one and answers ``duplicate``. The account is opened with the first
proposal (in the same transaction), so every award in the read model has a known owner and a
scope. A decision that moves points (approve, revoke) saves the award and the account together:
both or neither.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from anyio import to_thread
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services import reference
from backend.services.actor import Actor
from backend.services.award_sources import LogReads, require_source
from backend.services.commands import CommandRunner
from backend.services.scope import require_role, require_unit_in_scope
from events.award import Award, post_award
from events.meta import EventMeta
from events.point_rules import RuleVersion
from events.points import PointsAccount
from events.points_events import OwnerKind
from projections import household_files, points_ledger, staff_roster

__all__ = [
    "DECIDERS",
    "PROPOSERS",
    "AwardDraft",
    "AwardService",
    "build_award",
    "business_day",
    "owner_unit",
    "proposers_for",
    "rule_for",
]

PROPOSERS = ("grid_member", "grid_head", "supervisor", "admin")
DECIDERS = ("grid_head", "supervisor", "admin")
READERS = (*PROPOSERS, "mediator", "auditor")
_ATTEMPTS = 3
A = TypeVar("A", bound=Aggregate)


def business_day(container: Container) -> date:
    """Today's business date, from the server's clock (never the phone's)."""
    return container.clock.today()


async def owner_unit(container: Container, actor: Actor, kind: str, owner_id: UUID) -> UUID:
    """The unit deciding who sees an account (household's grid, staff's scope), scope-checked."""
    if kind == "household":
        doc = await household_files.get_file(container.pool, owner_id)
        unit = None if doc is None else UUID(doc["grid_id"])
    else:
        staff = await staff_roster.get_staff(container.pool, owner_id)
        unit = None if staff is None else staff["scope_unit_id"]
    if unit is None:
        raise ApiError(40400, f"no such {kind}", owner_kind=kind, owner_id=str(owner_id))
    await require_unit_in_scope(container.pool, actor, unit)
    return unit


@dataclass(frozen=True, kw_only=True)
class AwardDraft:
    rule_code: str
    source_event_id: UUID
    owner_kind: OwnerKind
    owner_id: UUID
    reason: str
    evidence: tuple[str, ...]
    client_time: datetime | None


def proposers_for(owner_kind: str) -> tuple[str, ...]:
    # Commendations and 约谈 deductions of staff come from the heads, not from peers.
    return DECIDERS if owner_kind == "staff" else PROPOSERS


async def rule_for(container: Container, draft: AwardDraft, *, on: date) -> RuleVersion:
    """The version of the draft's rule in force on ``on``, checked against the owner kind."""
    rule = await reference.point_rule_version(container, draft.rule_code, on)
    if rule is None:
        raise ApiError(40400, "no point rule in force with this code", code=draft.rule_code)
    if rule.target != draft.owner_kind:
        raise ApiError(40010, f"rule {rule.code} is for a {rule.target}", field="owner_kind")
    return rule


def build_award(draft: AwardDraft, rule: RuleVersion, meta: EventMeta) -> Award:
    """The proposal; its id is ``Award.id_for(rule code, source event, account)``."""
    return Award.propose(
        rule=rule, source_event_id=draft.source_event_id,
        account_id=PointsAccount.id_for(draft.owner_kind, draft.owner_id),
        reason=draft.reason, evidence=draft.evidence, meta=meta,
    )  # fmt: skip


class AwardService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.pool = container.pool
        self.commands = CommandRunner(container)

    async def propose(self, actor: Actor, draft: AwardDraft) -> tuple[dict[str, Any], bool]:
        """Propose; returns the award's view and whether it had been proposed before."""
        require_role(actor, *PROPOSERS)
        require_role(actor, *proposers_for(draft.owner_kind))
        await owner_unit(self.container, actor, draft.owner_kind, draft.owner_id)
        rule = await rule_for(self.container, draft, on=business_day(self.container))
        account_id = PointsAccount.id_for(draft.owner_kind, draft.owner_id)
        award_id = Award.id_for(rule.code, draft.source_event_id, account_id)
        meta = actor.meta(client_time=draft.client_time)
        if await to_thread.run_sync(lambda: self._get(Award, award_id)) is None:
            # A retry finds its award and is answered as a duplicate, whatever became of the
            # source since; a new proposal must cite a source that earns it.
            await require_source(
                LogReads(self.container, actor.scope_unit_id), rule=rule,
                source_id=draft.source_event_id, owner_kind=draft.owner_kind,
                owner_id=draft.owner_id, proposer=actor.staff_id,
            )  # fmt: skip

        def build() -> Sequence[Aggregate]:
            award = build_award(draft, rule, meta)
            if self._get(PointsAccount, account_id) is not None:
                return [award]
            return [PointsAccount.open(draft.owner_kind, draft.owner_id, meta=meta), award]

        created = await self._save_new(award_id, build)
        return await self.view(actor, award_id), not created

    async def approve(self, actor: Actor, award_id: UUID) -> dict[str, Any]:
        """Approve and credit (or deduct) the account in one save; caps apply. The source is
        checked again: one voided, rejected or reopened since the proposal earns nothing."""
        require_role(actor, *DECIDERS)
        row = await self.view(actor, award_id)
        award = await to_thread.run_sync(lambda: self._get(Award, award_id))
        if award is not None and award.state == "proposed":
            await require_source(
                LogReads(self.container, None), rule=award.rule, source_id=award.source_event_id,
                owner_kind=row["owner_kind"], owner_id=row["owner_id"], proposer=None,
            )  # fmt: skip
        meta = actor.meta()
        return await self._decide(actor, award_id, lambda a: a.approve(meta=meta), meta)

    async def revoke(self, actor: Actor, award_id: UUID, reason: str) -> dict[str, Any]:
        """Withdraw an approved award; the account reverses its points in the same save."""
        meta = actor.meta()
        return await self._decide(actor, award_id, lambda a: a.revoke(reason, meta=meta), meta)

    async def reject(self, actor: Actor, award_id: UUID, reason: str) -> dict[str, Any]:
        require_role(actor, *DECIDERS)
        await self.view(actor, award_id)
        meta = actor.meta()
        await self.commands.change(
            Award, award_id, lambda a: a.reject(reason, meta=meta), what="award"
        )
        return await self.view(actor, award_id)

    async def view(self, actor: Actor, award_id: UUID) -> dict[str, Any]:
        require_role(actor, *READERS)
        row = await points_ledger.get_award(self.pool, award_id)
        if row is None:
            raise ApiError(40400, "no such award", id=str(award_id))
        await owner_unit(self.container, actor, row["owner_kind"], row["owner_id"])
        return row

    async def list(
        self,
        actor: Actor,
        *,
        state: str | None,
        owner_kind: str | None,
        owner_id: UUID | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[dict[str, Any]]]:
        require_role(actor, *READERS)
        return await points_ledger.list_awards(
            self.pool, scope_unit_id=actor.scope_unit_id, state=state, owner_kind=owner_kind,
            owner_id=owner_id, limit=limit, offset=offset,
        )  # fmt: skip

    # -- saving ----------------------------------------------------------------------------

    async def _decide(
        self, actor: Actor, award_id: UUID, decide: Callable[[Award], Any], meta: EventMeta
    ) -> dict[str, Any]:
        require_role(actor, *DECIDERS)
        await self.view(actor, award_id)
        on = business_day(self.container)

        def attempt() -> Sequence[Aggregate]:
            award = self._get(Award, award_id)
            if award is None:
                raise ApiError(40400, "no such award", id=str(award_id))
            decide(award)
            account = self._get(PointsAccount, award.account_id)
            if account is None:  # opened with the proposal, so this is not expected
                raise ApiError(40400, "no such points account", id=str(award.account_id))
            post_award(account, award, on=on, meta=meta)
            return [award, account]

        await self._save_retrying(attempt)
        return await self.view(actor, award_id)

    async def _save_new(self, aggregate_id: UUID, build: Callable[[], Sequence[Aggregate]]) -> bool:
        """Save what ``build`` makes unless ``aggregate_id`` exists; False if it did."""

        def run() -> int | None:
            for _ in range(_ATTEMPTS):
                if self._get(Aggregate, aggregate_id) is not None:
                    return None
                try:
                    return self.commands.save_blocking(*build())
                except RecordConflictError:
                    continue  # a concurrent retry proposed it, or opened the account
            return None

        position = await to_thread.run_sync(run)
        await self.commands.settle(position or 0)
        return position is not None

    async def _save_retrying(self, attempt: Callable[[], Sequence[Aggregate]]) -> None:
        def run() -> int:
            for _ in range(_ATTEMPTS - 1):
                try:
                    return self.commands.save_blocking(*attempt())
                except RecordConflictError:
                    continue
            return self.commands.save_blocking(*attempt())

        await self.commands.settle(await to_thread.run_sync(run))

    def _get(self, cls: type[A], aggregate_id: UUID) -> A | None:
        try:
            found: object = self.container.event_log.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, cls) else None
