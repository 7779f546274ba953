"""What a pushed event means: its payload decoded per type, judged, and turned into aggregates.

Used by push (the author is the caller), by the release of held events and by a reviewer's
accept (the author is rebuilt from the receipt: who, in which role and scope, on which device).
Anything that is not "apply it now" leaves as :class:`Held` (deferred, review or rejected) with
its errcode, so the caller records it on the receipt and the phone's queue moves on.

The core handlers (visits, cases, households) live here; the field-captured facts (mediations,
awards) in :mod:`backend.services.sync_field_items`, built on the shared types of
:mod:`backend.services.sync_handlers`. ``_HANDLERS`` is the full table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

import asyncpg
import msgspec
from anyio import to_thread
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.http.case_schemas import ReportCase
from backend.http.field_schemas import NewVisit
from backend.http.household_schemas import Change, RegisterHousehold, to_changes, to_record
from backend.http.wire import RequestBody
from backend.services.actor import Actor
from backend.services.cases import REPORTERS
from backend.services.households import EDITORS
from backend.services.reference import active_category
from backend.services.scope import require_role
from backend.services.sync_field_items import FIELD_HANDLERS
from backend.services.sync_handlers import (
    Ctx,
    Held,
    Item,
    Plan,
    decode,
    item_of,
    waiting_household,
)
from backend.services.visits import VISITORS
from events.case import Case
from events.case_events import Reporter
from events.errors import DomainError
from events.household import Household
from events.visit import Gps, Visit
from projections import grid_tree, staff_roster
from storage.aggregates import load_aggregates

__all__ = ["EVENT_TYPES", "GRACE", "Held", "Item", "Judge", "Plan", "item_of"]

GRACE = timedelta(days=7)
"""After an assignment ends, offline work captured within this window goes to review."""


class EditHousehold(RequestBody):
    household_id: UUID
    changes: Annotated[list[Change], msgspec.Meta(min_length=1, max_length=50)]


def _named_household(item: Item) -> UUID | None:
    value = item.payload.get("household_id")
    try:
        return UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


class Judge:
    """Decides one pushed event for its author; ``trust_scope`` is a reviewer's accept."""

    def __init__(self, container: Container, *, batch: bool = False) -> None:
        self.container = container
        self.pool = container.pool
        # In a batch (all saved in one transaction), households and units are read once, and
        # a household registered or edited earlier in the batch is seen as it will be saved.
        self.batch = batch
        self._households: dict[UUID, Household | None] = {}
        self._units: dict[UUID, asyncpg.Record | None] = {}
        self._planned: dict[UUID, Aggregate] = {}

    async def plan(
        self, author: Actor, item: Item, *, captured: datetime, trust_scope: bool = False
    ) -> Plan:
        handler = _HANDLERS.get(item.type)
        if handler is None:
            raise Held("rejected", 40061, f"unknown event type {item.type!r}")
        try:
            plan = await handler(self, Ctx(author, item, captured, trust_scope))
        except ApiError as err:
            raise Held("rejected", err.errcode, err.errmsg) from None
        except DomainError as err:
            raise Held("rejected", err.errcode, err.errmsg) from None
        self.planned(plan)
        return plan

    async def household(self, household_id: UUID) -> Household | None:
        if household_id in self._households:
            return self._households[household_id]

        def run() -> object:
            try:
                return self.container.event_log.repository.get(household_id)
            except AggregateNotFoundError:
                return None

        found = await to_thread.run_sync(run)
        household = found if isinstance(found, Household) else None
        if self.batch and household is not None:
            self._households[household_id] = household
        return household

    async def prefetch(self, items: Sequence[Item]) -> None:
        """In a batch, load the households the items name from the event log in one query
        (one read per household was most of a push's time). Ids not found are not cached:
        they may be registered later in the batch."""
        named = {_named_household(i) for i in items}
        wanted = {h for h in named if h is not None} - self._households.keys()
        if self.batch and wanted:
            loaded = await load_aggregates(self.pool, wanted)
            self._households.update(
                (i, a if isinstance(a, Household) else None) for i, a in loaded.items()
            )

    def planned(self, plan: Plan) -> None:
        """In a batch, later items see the aggregates this plan creates or changes."""
        if self.batch:
            for aggregate in plan.aggregates:
                self._planned[aggregate.id] = aggregate
                if isinstance(aggregate, Household):
                    self._households[aggregate.id] = aggregate

    async def known(self, aggregate_id: UUID) -> bool:
        """Stored already, or saved earlier in this batch (an award, a points account)."""
        return await self.aggregate(aggregate_id) is not None

    async def aggregate(self, aggregate_id: UUID) -> Aggregate | None:
        """As it will be saved if planned earlier in this batch, else as stored (or None)."""
        if aggregate_id in self._planned:
            return self._planned[aggregate_id]

        def run() -> Aggregate | None:
            try:
                found: Aggregate = self.container.event_log.repository.get(aggregate_id)
            except AggregateNotFoundError:
                return None
            return found

        return await to_thread.run_sync(run)

    async def unit(self, unit_id: UUID) -> asyncpg.Record | None:
        if unit_id not in self._units or not self.batch:
            self._units[unit_id] = await grid_tree.get_unit(self.pool, unit_id)
        return self._units[unit_id]

    async def authorise(self, ctx: Ctx, unit_id: UUID, roles: tuple[str, ...]) -> asyncpg.Record:
        """Scope judged now, then at capture time from the assignment history (+ grace)."""
        require_role(ctx.author, *roles)
        unit = await self.unit(unit_id)
        if unit is None:
            raise Held("rejected", 40400, "no such grid unit")
        if ctx.trust_scope or ctx.author.scope_unit_id in unit["path"]:
            return unit
        if await self._held_then(ctx, unit["path"]):
            raise Held(
                "review", 40361, "captured outside your current assignment; a supervisor decides",
                unit_id=unit_id,
            )  # fmt: skip
        raise Held("rejected", 40301, "grid unit outside your scope", unit_id=unit_id)

    async def _held_then(self, ctx: Ctx, path: list[UUID]) -> bool:
        day = self.container.clock.day_of(ctx.captured)
        for row in await staff_roster.assignments_of(self.pool, ctx.author.staff_id):
            if row["scope_unit_id"] not in path or row["effective_from"] > day:
                continue
            end = row["effective_to"]
            if end is None or day < end + GRACE:
                return True
        return False


async def _visit(judge: Judge, ctx: Ctx) -> Plan:
    body: NewVisit = decode(ctx.item, NewVisit, {"visit_id": str(ctx.item.event_id)})
    if body.visit_id != ctx.item.event_id:
        raise Held("rejected", 40062, "visit_id must equal event_id")
    household = await judge.household(body.household_id)
    if household is None:
        raise waiting_household(body.household_id)
    await judge.authorise(ctx, household.grid_id, VISITORS)
    visit = Visit.record(
        visit_id=body.visit_id, household_id=body.household_id, grid_id=household.grid_id,
        purpose=body.purpose, method=body.method, visited_at=body.visited_at,
        findings=body.findings.domain(), meta=ctx.meta(body.client_time),
        needs=tuple(body.needs), gps=None if body.gps is None else body.gps.domain(),
        photos=tuple(body.photos), follow_up_case_ids=tuple(body.follow_up_case_ids),
    )  # fmt: skip
    return Plan(aggregates=(visit,), unit_id=household.grid_id)


async def _case(judge: Judge, ctx: Ctx) -> Plan:
    body: ReportCase = decode(ctx.item, ReportCase, {"id": str(ctx.item.event_id)})
    if body.id != ctx.item.event_id:
        raise Held("rejected", 40062, "id must equal event_id")
    unit_id = body.unit_id or ctx.author.scope_unit_id
    if body.household_id is not None and await judge.household(body.household_id) is None:
        raise waiting_household(body.household_id)
    unit = await judge.authorise(ctx, unit_id, REPORTERS)
    if unit["status"] != "active":
        raise Held("rejected", 40910, "grid unit is retired", unit_id=unit_id)
    info = await active_category(judge.container, body.category)
    if info is None or not info.active:
        raise Held("rejected", 40010, "unknown or retired case category", unit_id=unit_id)
    case = Case.report(
        case_id=body.id, category=body.category, title=body.title,
        description=body.description, location=body.location,
        reporter=_reporter(ctx.author, body), level=unit["level"], holder_unit_id=unit_id,
        meta=ctx.meta(body.client_time), gps=_gps(body),
        household_id=body.household_id, photos=tuple(body.photos),
    )  # fmt: skip
    return Plan(aggregates=(case,), unit_id=unit_id)


def _gps(body: ReportCase) -> Gps | None:
    gps = body.gps
    return None if gps is None else Gps(lat=gps.lat, lng=gps.lng, accuracy_m=gps.accuracy_m)


def _reporter(author: Actor, body: ReportCase) -> Reporter:
    source = body.source or ("grid_member" if author.role == "grid_member" else "superior")
    if source in ("grid_member", "superior"):
        return Reporter(source=source, staff_id=author.staff_id)
    return Reporter(source=source, contact_name=body.contact_name, contact_phone=body.contact_phone)


async def _register(judge: Judge, ctx: Ctx) -> Plan:
    body: RegisterHousehold = decode(ctx.item, RegisterHousehold, {})
    unit = await judge.authorise(ctx, body.grid_id, EDITORS)
    if unit["level"] < 3 or unit["status"] != "active":
        raise Held("rejected", 40010, "households belong to an active grid or micro-grid")
    household = Household.register(
        household_no=body.household_no, grid_id=body.grid_id, address=body.address,
        phone=body.phone, persons=tuple(to_record(p) for p in body.persons),
        effective_from=body.effective_from or judge.container.clock.day_of(ctx.captured),
        meta=ctx.meta(),
        house_type=body.house_type, notes=body.notes,
    )  # fmt: skip
    return Plan(aggregates=(household,), unit_id=body.grid_id)


async def _edit(judge: Judge, ctx: Ctx) -> Plan:
    body: EditHousehold = decode(ctx.item, EditHousehold, {})
    if ctx.item.base_version is None or not body.changes:
        raise Held("rejected", 40062, "household.edited needs base_version and changes")
    household = await judge.household(body.household_id)
    if household is None:
        raise waiting_household(body.household_id)
    await judge.authorise(ctx, household.grid_id, EDITORS)
    conflicts = household.update(to_changes(body.changes), ctx.item.base_version, meta=ctx.meta())
    return Plan(aggregates=(household,), unit_id=household.grid_id, conflicts=len(conflicts))


_HANDLERS = {
    "visit.recorded": _visit,
    "case.reported": _case,
    "household.registered": _register,
    "household.edited": _edit,
    **FIELD_HANDLERS,
}
EVENT_TYPES = tuple(_HANDLERS)
