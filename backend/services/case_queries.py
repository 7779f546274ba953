"""Reading cases: the case view, the board and its overdue / escalated lists, all scoped.

Deadlines and colours are computed here, at read time, with the SLA policy and working
calendar current *now* (reference data an admin may change); the board stores only what the
clock needs (see :mod:`projections.case_board`). ``now`` is the server clock, injectable so
tests can look at the board at chosen times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.reference import sla_policy, working_calendar
from backend.services.scope import require_role
from events.holidays import WorkingCalendar
from events.sla import (
    SlaClock,
    SlaColour,
    SlaPolicy,
    colour,
    deadline,
    deadline_provisional,
    paused_time,
)
from projections import case_board, grid_tree, staff_roster
from projections.case_board_fold import sla_clock_of

__all__ = [
    "READERS",
    "BoardQuery",
    "CaseBoardService",
    "SlaView",
    "photo_list",
    "sla_view",
]

READERS = ("grid_member", "grid_head", "supervisor", "admin", "auditor", "mediator")
Doc = dict[str, Any]
Clock = Callable[[], datetime]


@dataclass(frozen=True, kw_only=True)
class SlaView:
    deadline: datetime | None
    colour: SlaColour | None
    overdue: bool
    provisional: bool = False  # counted over a year without holiday data (events.sla)


def sla_view(
    clock: SlaClock, now: datetime, policy: SlaPolicy, calendar: WorkingCalendar
) -> SlaView:
    """The current stage's deadline and colour as of ``now`` (none for closed/rejected)."""
    rule = (
        None if clock.stage is None else policy.rule_for(clock.level, clock.category, clock.stage)
    )
    if rule is None:
        return SlaView(deadline=None, colour=None, overdue=False)
    paused = paused_time(clock.pauses, now, calendar)
    args = (clock.stage_entered_at, paused, clock.extension_days, calendar)
    due = deadline(rule, *args)
    return SlaView(
        deadline=due,
        colour=colour(now, rule, *args),
        overdue=now >= due,
        provisional=deadline_provisional(calendar, clock.stage_entered_at, due),
    )


@dataclass(frozen=True, kw_only=True)
class BoardQuery:
    state: str | None = None
    category: str | None = None
    level: int | None = None
    overdue: bool | None = None
    escalated: bool | None = None
    holder: UUID | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    open_only: bool = False


class CaseBoardService:
    def __init__(self, container: Container, *, now: Clock | None = None) -> None:
        self.container = container
        self.pool = container.pool
        self.now = now or container.clock.now

    async def sla_context(self) -> tuple[datetime, SlaPolicy, WorkingCalendar]:
        return self.now(), await sla_policy(self.container), await working_calendar(self.container)

    async def board(
        self, actor: Actor, query: BoardQuery, *, limit: int, offset: int
    ) -> tuple[int, list[Doc]]:
        require_role(actor, *READERS)
        if query.holder is not None and query.holder != actor.staff_id:
            await self._require_staff_in_scope(actor, query.holder)
        f = case_board.BoardFilter(
            scope_unit_id=actor.scope_unit_id, viewer_id=actor.staff_id, status=query.state,
            category=query.category, level=query.level, escalated=query.escalated,
            assignee_staff_id=query.holder, reported_from=query.reported_from,
            reported_to=query.reported_to, open_only=query.open_only or bool(query.overdue),
        )  # fmt: skip
        context = await self.sla_context()
        if query.overdue is None:  # page in SQL
            total, docs = await case_board.list_board(self.pool, f, limit=limit, offset=offset)
            return total, await self._rows(docs, *context)
        # Overdue depends on the current policy: decide it here, then page (module docstring).
        _, docs = await case_board.list_board(self.pool, f, limit=None)
        rows = [r for r in await self._rows(docs, *context) if r["overdue"] == query.overdue]
        return len(rows), rows[offset : offset + limit]

    async def _rows(
        self, docs: list[Doc], now: datetime, policy: SlaPolicy, calendar: WorkingCalendar
    ) -> list[Doc]:
        hashes = [h for d in docs for h in (*d["photos"], *d["before_photos"], *d["after_photos"])]
        pending = await case_board.pending_photos(self.pool, hashes)
        return [
            board_row(d, sla_view(sla_clock_of(d), now, policy, calendar), pending) for d in docs
        ]

    async def _require_staff_in_scope(self, actor: Actor, staff_id: UUID) -> None:
        # Filtering by a handler outside your scope would tell you about their cases.
        staff = await staff_roster.get_staff(self.pool, staff_id)
        in_scope = staff is not None and await grid_tree.unit_in_scope(
            self.pool, staff["scope_unit_id"], actor.scope_unit_id
        )
        if not in_scope:
            raise ApiError(40301, "staff member outside your scope", id=str(staff_id))


def photo_list(doc: Doc, pending: set[str]) -> list[Doc]:
    """Every photo of the case with its kind and whether it has been uploaded yet."""
    return [
        {"sha256": h, "kind": kind, "pending": h in pending}
        for kind, key in (("report", "photos"), ("before", "before_photos"),
                          ("after", "after_photos"))
        for h in doc[key]
    ]  # fmt: skip


def board_row(doc: Doc, sla: SlaView, pending: set[str]) -> Doc:
    """A board document as the API shows it: the fold state plus deadline, colour, photos."""
    state = "suspended" if doc["suspended"] else doc["status"]
    return {
        **{k: doc[k] for k in _ROW_KEYS},
        "state": state, "deadline": sla.deadline, "colour": sla.colour, "overdue": sla.overdue,
        "deadline_provisional": sla.provisional, "escalated": bool(doc["escalations"]),
        "photos": photo_list(doc, pending),
        "photos_pending": any(h in pending for h in
                              (*doc["photos"], *doc["before_photos"], *doc["after_photos"])),
    }  # fmt: skip


_ROW_KEYS = (
    "id", "category", "title", "status", "suspended", "level", "holder_unit_id",
    "assignee_staff_id", "assignee_unit_id", "reporter_source", "stage", "stage_seq",
    "stage_entered_at", "pauses", "extension_days", "pending_delay_days", "escalations",
    "warnings", "reported_at", "closed_at", "satisfaction", "supervisions", "version",
)  # fmt: skip
