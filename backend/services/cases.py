"""Use cases of the closed-loop case (事件): report, act on it, read it — scoped and by role.

Who may do what: a grid member reports cases and handles those assigned to them (or to a unit
in their scope); grid heads accept, register, dispatch, verify and close in their scope;
supervisors also reopen, supervise (督办), decide delays and suspend. A caller sees a case held
in their subtree, dispatched to a unit in it, or dispatched to them. Whether the action fits
the case's *state* is the aggregate's decision (40910 names the state and allowed actions).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from anyio import to_thread

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.case_queries import READERS, CaseBoardService, photo_list, sla_view
from backend.services.commands import CommandRunner
from backend.services.reference import active_category
from backend.services.scope import require_role, require_unit_in_scope
from events.case import Case
from events.case_events import Reporter, ReportSource
from events.case_states import CaseAction
from events.meta import EventMeta
from events.privacy import REVIEW_ROLES, mask_name, mask_phone
from events.visit import Gps
from projections import case_board, grid_tree, household_files, staff_roster

__all__ = ["CaseDraft", "CaseService", "permitted"]

Doc = dict[str, Any]
Decide = Callable[[Case, EventMeta], Any]
REPORTERS = ("grid_member", "grid_head", "supervisor", "admin")
_MANAGERS = ("grid_head", "supervisor", "admin")
_SUPERVISORS = ("supervisor", "admin")
ROLES_FOR: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("accept", "reject", "register", "dispatch", "verify"), _MANAGERS),
    **dict.fromkeys(("fail_verification", "close", "record_satisfaction"), _MANAGERS),
    **dict.fromkeys(("reopen", "supervise", "decide_delay", "suspend", "resume"), _SUPERVISORS),
    **dict.fromkeys(("sign_for", "return", "handle", "request_delay", "report_up"), REPORTERS),
}
# Actions of whoever the case was dispatched to (managers in scope may act for them).
ASSIGNEE_ACTIONS = frozenset({"sign_for", "return", "handle", "request_delay"})
_REPORT_FIELDS = (
    "category", "title", "description", "location", "gps", "household_id", "reporter",
    "photos", "level", "holder_unit_id",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class CaseDraft:
    """A report as the phone sends it; ``unit_id`` defaults to the reporter's own unit."""

    case_id: UUID
    category: str
    title: str
    description: str
    location: str
    unit_id: UUID | None = None
    source: ReportSource | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    gps: Gps | None = None
    household_id: UUID | None = None
    photos: tuple[str, ...] = ()
    client_time: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Access:
    """How the caller relates to a case (facts from the grid tree, decided once per call)."""

    holder_in_scope: bool
    assignee_unit_in_scope: bool
    is_assignee: bool

    @property
    def visible(self) -> bool:
        return self.holder_in_scope or self.assignee_unit_in_scope or self.is_assignee


def permitted(actor: Actor, case: Case, access: Access, action: str) -> bool:
    """Whether the caller's role and relation to the case allow ``action`` (not its state)."""
    if actor.role not in ROLES_FOR.get(action, ()):
        return False
    if action in ASSIGNEE_ACTIONS:
        unit_job = case.assignee_staff_id is None and access.assignee_unit_in_scope
        if access.is_assignee or unit_job:
            return True
        return actor.role in _MANAGERS and access.holder_in_scope
    return access.holder_in_scope


def _who(case: Case) -> tuple[UUID | None, ...]:
    return case.holder_unit_id, case.assignee_staff_id, case.assignee_unit_id


class CaseService:
    def __init__(self, container: Container, *, now: Callable[[], datetime] | None = None) -> None:
        self.container = container
        self.pool = container.pool
        self.commands = CommandRunner(container)
        self.board = CaseBoardService(container, now=now)

    # -- report ------------------------------------------------------------------------------

    async def report(self, actor: Actor, draft: CaseDraft) -> tuple[Doc, bool]:
        """上报; re-sending the same report is idempotent (False: it existed already)."""
        require_role(actor, *REPORTERS)
        unit = await require_unit_in_scope(self.pool, actor, draft.unit_id or actor.scope_unit_id)
        if unit["status"] != "active":
            raise ApiError(40910, "grid unit is retired", state="retired", id=str(unit["id"]))
        await self._require_category(draft.category)
        await self._require_household(actor, draft.household_id)
        case = Case.report(
            case_id=draft.case_id, category=draft.category, title=draft.title,
            description=draft.description, location=draft.location,
            reporter=_reporter(actor, draft), level=unit["level"], holder_unit_id=unit["id"],
            meta=actor.meta(client_time=draft.client_time), gps=draft.gps,
            household_id=draft.household_id, photos=draft.photos,
        )  # fmt: skip
        try:
            await self.commands.create(lambda: case, what="case")
        except ApiError as err:
            if err.errcode != 40911:
                raise
            await self._require_same_report(case)
            return await self.get(actor, case.id), False
        return await self.get(actor, case.id), True

    async def _require_category(self, code: str) -> None:
        info = await active_category(self.container, code)
        if info is None or not info.active:
            raise ApiError(40010, "unknown or retired case category", field="category")

    async def _require_household(self, actor: Actor, household_id: UUID | None) -> None:
        if household_id is None:
            return
        doc = await household_files.get_file(self.pool, household_id)
        if doc is None:
            raise ApiError(40010, "unknown household", field="household_id")
        await require_unit_in_scope(self.pool, actor, UUID(doc["grid_id"]))

    async def _require_same_report(self, case: Case) -> None:
        def first() -> object:
            return self.container.event_log.repository.get(case.id, version=1)

        original = await to_thread.run_sync(first)
        same = isinstance(original, Case) and all(
            getattr(original, f) == getattr(case, f) for f in _REPORT_FIELDS
        )
        if not same:
            raise ApiError(40911, "another report already has this id", id=str(case.id))

    # -- read --------------------------------------------------------------------------------

    async def get(self, actor: Actor, case_id: UUID) -> Doc:
        require_role(actor, *READERS)
        case = await self.commands.load(Case, case_id, what="case")
        access = await self._access(actor, case)
        if not access.visible:
            raise ApiError(40301, "case outside your scope", id=str(case_id))
        return await self._view(actor, case, access)

    async def _access(self, actor: Actor, case: Case) -> Access:
        scope = actor.scope_unit_id
        unit = case.assignee_unit_id
        return Access(
            holder_in_scope=await grid_tree.unit_in_scope(self.pool, case.holder_unit_id, scope),
            assignee_unit_in_scope=unit is not None
            and await grid_tree.unit_in_scope(self.pool, unit, scope),
            is_assignee=case.assignee_staff_id == actor.staff_id,
        )

    async def _view(self, actor: Actor, case: Case, access: Access) -> Doc:
        now, policy, calendar = await self.board.sla_context()
        row = await case_board.get_case_row(self.pool, case.id) or {}
        photos = {"photos": case.photos, "before_photos": case.before_photos,
                  "after_photos": case.after_photos}  # fmt: skip
        pending = await case_board.pending_photos(
            self.pool, [h for v in photos.values() for h in v]
        )
        sla = sla_view(case.sla_clock(), now, policy, calendar)
        return {
            "id": case.id, "version": case.version, "category": case.category,
            "title": case.title, "description": case.description, "location": case.location,
            "gps": case.gps, "household_id": case.household_id,
            "reporter": _reporter_view(actor, case.reporter), "level": case.level,
            "holder_unit_id": case.holder_unit_id, "state": case.state, "status": case.status,
            "suspended": case.suspended, "assignee_staff_id": case.assignee_staff_id,
            "assignee_unit_id": case.assignee_unit_id, "result": case.result,
            "last_reason": case.last_reason, "supervisions": case.supervisions,
            "pending_delay_days": case.pending_delay_days,
            "satisfaction": case.satisfaction, "photos": photo_list(photos, pending),
            "stage": case.stage, "stage_seq": case.stage_seq,
            "stage_entered_at": case.stage_entered_at, "extension_days": case.extension_days,
            "deadline": sla.deadline, "colour": sla.colour, "overdue": sla.overdue,
            "deadline_provisional": sla.provisional,
            "escalated": bool(row.get("escalations")),
            "escalations": row.get("escalations", []), "warnings": row.get("warnings", []),
            "allowed_actions": [
                a for a in case.allowed_actions() if permitted(actor, case, access, a)
            ],
            "history": await case_board.case_history(self.pool, case.id),
        }  # fmt: skip

    # -- act ---------------------------------------------------------------------------------

    async def act(
        self,
        actor: Actor,
        case_id: UUID,
        action: CaseAction,
        decide: Decide,
        *,
        client_time: datetime | None = None,
    ) -> Doc:
        """Check the caller against the case, then run ``decide`` through the aggregate."""

        async def ready(_: Case) -> Decide:
            return decide

        return await self._act(actor, case_id, action, ready, client_time)

    async def _act(
        self,
        actor: Actor,
        case_id: UUID,
        action: CaseAction,
        prepare: Callable[[Case], Awaitable[Decide]],
        client_time: datetime | None,
    ) -> Doc:
        """``prepare`` runs after the checks, for look-ups an action needs (its target)."""
        case = await self.commands.load(Case, case_id, what="case")
        access = await self._access(actor, case)
        self._require_permitted(actor, case, access, action)
        run = await prepare(case)
        meta, expected = actor.meta(client_time=client_time), _who(case)

        def guarded(fresh: Case) -> None:
            # The checks above judged this holder and assignee; a case that moved meanwhile
            # must be judged again, by a new request.
            if _who(fresh) != expected:
                allowed = list(fresh.allowed_actions())
                raise ApiError(40910, "case changed meanwhile", state=fresh.state, allowed=allowed)
            run(fresh, meta)

        changed, _ = await self.commands.change(Case, case_id, guarded, what="case")
        return await self._view(actor, changed, await self._access(actor, changed))

    def _require_permitted(self, actor: Actor, case: Case, access: Access, action: str) -> None:
        if not access.visible:
            raise ApiError(40301, "case outside your scope", id=str(case.id))
        require_role(actor, *ROLES_FOR[action])
        if not permitted(actor, case, access, action):
            raise ApiError(40301, "this case is not yours to act on", action=action)

    async def dispatch(
        self, actor: Actor, case_id: UUID, *, staff_id: UUID | None, unit_id: UUID | None,
        instructions: str | None, client_time: datetime | None,
    ) -> Doc:  # fmt: skip
        async def prepare(_: Case) -> Decide:
            if staff_id is not None:
                await self._require_staff_target(actor, staff_id)
            if unit_id is not None:
                unit = await require_unit_in_scope(self.pool, actor, unit_id)
                if unit["status"] != "active":
                    raise ApiError(40910, "grid unit is retired", state="retired")
            return lambda c, m: c.dispatch(
                meta=m, staff_id=staff_id, unit_id=unit_id, instructions=instructions
            )

        return await self._act(actor, case_id, "dispatch", prepare, client_time)

    async def _require_staff_target(self, actor: Actor, staff_id: UUID) -> None:
        staff = await staff_roster.get_staff(self.pool, staff_id)
        if staff is None:
            raise ApiError(40400, "no such staff member", id=str(staff_id))
        if not await grid_tree.unit_in_scope(
            self.pool, staff["scope_unit_id"], actor.scope_unit_id
        ):
            raise ApiError(40301, "staff member outside your scope", id=str(staff_id))
        if staff["status"] != "active":
            raise ApiError(40910, "staff member relieved", state=staff["status"])

    async def report_up(
        self, actor: Actor, case_id: UUID, reason: str, *, client_time: datetime | None
    ) -> Doc:
        """上报 to the holder's parent unit; at the town (level 1) the aggregate refuses."""

        async def prepare(case: Case) -> Decide:
            unit = await grid_tree.get_unit(self.pool, case.holder_unit_id)
            parent = unit["parent_id"] if unit else None
            target, level = (parent, case.level - 1) if parent else (case.holder_unit_id, 0)
            return lambda c, m: c.report_up(target, level, reason, meta=m)

        return await self._act(actor, case_id, "report_up", prepare, client_time)


def _reporter(actor: Actor, draft: CaseDraft) -> Reporter:
    source = draft.source or ("grid_member" if actor.role == "grid_member" else "superior")
    if source in ("grid_member", "superior"):
        return Reporter(source=source, staff_id=actor.staff_id)  # staff report as themselves
    return Reporter(
        source=source, contact_name=draft.contact_name, contact_phone=draft.contact_phone
    )


def _reporter_view(actor: Actor, reporter: Reporter) -> Doc:
    """Contact details are personal data: the phone is always masked, the name for review
    roles (they verify records, they do not call residents back)."""
    name, phone = reporter.contact_name, reporter.contact_phone
    return {
        "source": reporter.source,
        "staff_id": reporter.staff_id,
        "contact_name": mask_name(name) if name and actor.role in REVIEW_ROLES else name,
        "contact_phone": mask_phone(phone) if phone else None,
    }
