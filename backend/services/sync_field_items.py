"""Field-captured facts pushed from phones (DESIGN §4): mediations opened and awards proposed.

Same rules as the core handlers in :mod:`backend.services.sync_items`: the payload is the HTTP
body, scope is judged at capture time (with the assignment-history grace), an unknown household
defers the event, and the services' own checks decide the rest. Re-sends under the same event
id are answered from the receipt by push; an award is one per (rule, source event, account), so
a *second* event proposing the same award is rejected 40911, the first one stands. An award's
source is checked by the function HTTP uses (:mod:`backend.services.award_sources`): one not
arrived yet defers the award (``waiting_for`` the source, e.g. a visit later in the batch or
on another phone), any other refusal rejects it with the errcode HTTP answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from backend.http.field_schemas import OpenMediation, PartyIn
from backend.http.points_schemas import ProposeAward
from backend.services.award_sources import SourceUnknown, require_source
from backend.services.awards import AwardDraft, build_award, proposers_for, rule_for
from backend.services.mediations import (
    MEDIATORS,
    MediationDraft,
    build_mediation,
    check_mediators,
)
from backend.services.sync_handlers import Ctx, Held, Judging, Plan, decode, waiting_household
from events.point_rules import RuleVersion
from events.points import PointsAccount
from projections import mediation_register, staff_roster

__all__ = ["FIELD_HANDLERS"]


async def _mediation(judge: Judging, ctx: Ctx) -> Plan:
    # The mediation id is the event id (as the visit id is): it overrides the payload's.
    body: OpenMediation = decode(ctx.item, OpenMediation, {"mediation_id": str(ctx.item.event_id)})
    grids = [await _party_grid(judge, p) for p in body.parties]
    # Every party's household in scope: a dispute across grids needs the head above both.
    paths = [(await judge.authorise(ctx, grid, MEDIATORS))["path"] for grid in grids]
    draft = MediationDraft(
        mediation_id=body.mediation_id, case_id=body.case_id,
        parties=tuple(p.domain() for p in body.parties),
        mediators=tuple(m.domain() for m in body.mediators),
        client_time=body.client_time or ctx.item.captured_at,
    )  # fmt: skip
    await check_mediators(judge.container, draft.mediators)
    if body.case_id is not None and not await judge.known(body.case_id):
        raise Held(
            "deferred", 40460, "waiting for a case the server does not know yet",
            waiting_for=(f"case:{body.case_id}",),
        )  # fmt: skip
    return Plan(aggregates=(build_mediation(draft, ctx.author),), unit_id=_meeting_point(paths))


async def _party_grid(judge: Judging, party: PartyIn) -> UUID:
    """The grid of the party's household; a household not known yet defers the event."""
    household_id = party.ref_id
    if party.kind == "person":
        # A person is found through the household files (the read model), as the service does.
        found = await mediation_register.household_of_person(judge.pool, party.ref_id)
        if found is None:
            raise Held("rejected", 40400, f"no such person {party.ref_id}")
        household_id = found
    household = await judge.household(household_id)
    if household is None:
        raise waiting_household(household_id)
    return household.grid_id


def _meeting_point(paths: list[list[UUID]]) -> UUID:
    """The lowest unit above every party's grid (the grid itself when all live in one)."""
    shared = paths[0]
    for path in paths[1:]:
        keep = 0
        while keep < min(len(shared), len(path)) and shared[keep] == path[keep]:
            keep += 1
        shared = shared[:keep]
    return shared[-1] if shared else paths[0][-1]


async def _award(judge: Judging, ctx: Ctx) -> Plan:
    body: ProposeAward = decode(ctx.item, ProposeAward, {})
    draft = AwardDraft(
        rule_code=body.rule_code, source_event_id=body.source_event_id,
        owner_kind=body.owner_kind, owner_id=body.owner_id, reason=body.reason,
        evidence=tuple(body.evidence), client_time=body.client_time,
    )  # fmt: skip
    unit_id = await _owner_unit(judge, draft)
    await judge.authorise(ctx, unit_id, proposers_for(draft.owner_kind))
    # The rule in force on the (business) day it was captured, not the day it reached us.
    rule = await rule_for(judge.container, draft, on=judge.container.clock.day_of(ctx.captured))
    meta = ctx.meta(body.client_time)
    award = build_award(draft, rule, meta)
    if await judge.known(award.id):
        raise Held(
            "rejected", 40911, f"award {award.id} already proposed for this rule, source and owner",
            unit_id=unit_id,
        )  # fmt: skip
    await _require_source(judge, ctx, draft, rule, unit_id)
    if await judge.known(award.account_id):
        return Plan(aggregates=(award,), unit_id=unit_id)
    account = PointsAccount.open(draft.owner_kind, draft.owner_id, meta=meta)
    return Plan(aggregates=(account, award), unit_id=unit_id)


class _BatchReads:
    """The source check's reads on push: the batch's view of the log, the author's scope
    (a reviewer's accept trusts the scope, as for the rest of the event)."""

    def __init__(self, judge: Judging, ctx: Ctx) -> None:
        self.judge, self.ctx, self.pool = judge, ctx, judge.pool

    async def record(self, record_id: UUID) -> object | None:
        return await self.judge.aggregate(record_id)

    async def in_scope(self, unit_id: UUID) -> bool:
        unit = await self.judge.unit(unit_id)
        scope = self.ctx.author.scope_unit_id
        return self.ctx.trust_scope or (unit is not None and scope in unit["path"])


async def _require_source(
    judge: Judging, ctx: Ctx, draft: AwardDraft, rule: RuleVersion, unit_id: UUID
) -> None:
    """The HTTP check; a source not arrived yet defers the event until it does."""
    try:
        await require_source(
            _BatchReads(judge, ctx), rule=rule, source_id=draft.source_event_id,
            owner_kind=draft.owner_kind, owner_id=draft.owner_id, proposer=ctx.author.staff_id,
        )  # fmt: skip
    except SourceUnknown as missing:
        raise Held(
            "deferred", 40460, "waiting for the award's source event the server does not know yet",
            unit_id=unit_id, waiting_for=(missing.waiting_for,),
        ) from None  # fmt: skip


async def _owner_unit(judge: Judging, draft: AwardDraft) -> UUID:
    """The unit deciding who sees the account: the household's grid or the staff's scope."""
    if draft.owner_kind == "household":
        household = await judge.household(draft.owner_id)
        if household is None:
            raise waiting_household(draft.owner_id)
        return household.grid_id
    staff = await staff_roster.get_staff(judge.pool, draft.owner_id)
    if staff is None:
        raise Held("rejected", 40400, f"no such staff {draft.owner_id}")
    unit: UUID = staff["scope_unit_id"]
    return unit


FIELD_HANDLERS: dict[str, Callable[[Judging, Ctx], Awaitable[Plan]]] = {
    "mediation.opened": _mediation,
    "award.proposed": _award,
}
