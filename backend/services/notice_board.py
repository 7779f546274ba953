"""Use cases of notice-board editions (公示): compose, review, publish frozen, withdraw.

A supervisor or admin composes a draft for a village or town in scope (the content is read
from the read models in the public profile and frozen into the draft); a *different*
supervisor or admin approves it; publishing runs the privacy gate over the exact content one
last time and refuses (42280, nothing changes) if anything protected is in it. Every step
is idempotent for the same caller, so a retry after a lost response answers with the edition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final
from uuid import UUID, uuid4

import msgspec

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import ROLE_RANK, Actor
from backend.services.awards import business_day
from backend.services.commands import CommandRunner
from backend.services.notice_board_privacy import Finding, ProtectedValues, scan_content
from backend.services.reference import working_calendar
from backend.services.scope import require_role, require_unit_in_scope
from events.notice_board import BoardCaseStats, BoardContent, InvalidPeriod, NoticeBoardEdition
from projections import notice_board
from projections import notice_board_content as board

__all__ = ["EDITORS", "READERS", "EditionDraft", "NoticeBoardService", "compose_content"]

EDITORS: Final = ("supervisor", "admin")
# Reading is decided by scope: an edition is of a village or town, so a grid member (scope: a
# grid) never has one in scope, while a grid head sees their village's.
READERS: Final = tuple(ROLE_RANK)
BOARD_LEVELS: Final = (1, 2)  # a town or a village
CASE_WINDOW_DAYS: Final = 90
# How far a 公示期 may start from today: a late review may backdate a little, planning ahead a
# year at most (and dates near date.max would overflow the period arithmetic).
EARLIEST_START: Final = timedelta(days=30)
LATEST_START: Final = timedelta(days=366)
_WHAT: Final = "notice board edition"


@dataclass(frozen=True, kw_only=True)
class EditionDraft:
    unit_id: UUID
    edition_id: UUID | None
    period_start: date | None
    period_end: date | None
    notes: tuple[str, ...]


async def compose_content(
    container: Container, unit: Any, *, notes: tuple[str, ...], today: date
) -> BoardContent:
    """The board of ``unit`` as it stands now, in the public profile."""
    pool, unit_id, zone = container.pool, unit["id"], container.clock.zone
    return BoardContent(
        unit_id=unit_id, unit_code=unit["code"], unit_name=unit["name"],
        unit_level=unit["level"], composed_at=container.clock.now(),
        grids=await board.board_grids(pool, unit_id),
        commendations=await board.board_commendations(pool, unit_id, on=today, zone=zone),
        ranking=await board.board_ranking(pool, unit_id),
        cases=await _case_stats(container, unit_id, today=today),
        checkpoint=await board.board_checkpoint(pool), notes=notes,
    )  # fmt: skip


async def _case_stats(container: Container, unit_id: UUID, *, today: date) -> BoardCaseStats:
    """The window's case counts; the years in it without holiday data are named, since the
    deadlines behind ``closed_on_time`` counted them Monday–Friday only."""
    start = today - timedelta(days=CASE_WINDOW_DAYS - 1)
    stats = await board.board_case_stats(
        container.pool, unit_id, start=start, end=today, zone=container.clock.zone
    )
    missing = (await working_calendar(container)).uncovered_years(start, today)
    return msgspec.structs.replace(stats, holiday_data_missing=missing)


class NoticeBoardService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.pool = container.pool
        self.commands = CommandRunner(container)

    async def compose(self, actor: Actor, draft: EditionDraft) -> tuple[dict[str, Any], bool]:
        """A new draft; returns its view and whether this id had been composed before."""
        require_role(actor, *EDITORS)
        unit = await require_unit_in_scope(self.pool, actor, draft.unit_id)
        if unit["level"] not in BOARD_LEVELS or unit["status"] != "active":
            raise ApiError(
                40010, "a notice board is for an active village or town", field="unit_id"
            )
        edition_id = draft.edition_id or uuid4()
        if (seen := await self._repeat(actor, edition_id, draft.unit_id)) is not None:
            return seen, True
        today = business_day(self.container)
        start = draft.period_start or today
        if not today - EARLIEST_START <= start <= today + LATEST_START:
            raise InvalidPeriod("period_start is too far from today", field="period_start")
        content = await compose_content(self.container, unit, notes=draft.notes, today=today)
        meta = actor.meta()
        await self.commands.create(
            lambda: NoticeBoardEdition.compose(
                edition_id=edition_id, content=content, period_start=start,
                period_end=draft.period_end, meta=meta,
            ),
            what=_WHAT,
        )  # fmt: skip
        return await self.view(actor, edition_id), False

    async def _repeat(self, actor: Actor, edition_id: UUID, unit_id: UUID) -> dict[str, Any] | None:
        row = await notice_board.get_edition(self.pool, edition_id)
        if row is None:
            return None
        if row["unit_id"] != unit_id or row["composed_by"] != actor.staff_id:
            raise ApiError(40911, f"{_WHAT} already exists", id=str(edition_id))
        return await self.view(actor, edition_id)

    async def editions(
        self, actor: Actor, *, unit_id: UUID, state: str | None, limit: int, offset: int
    ) -> tuple[int, list[dict[str, Any]]]:
        require_role(actor, *READERS)
        await require_unit_in_scope(self.pool, actor, unit_id)
        return await notice_board.list_editions(
            self.pool, scope_unit_id=actor.scope_unit_id, unit_id=unit_id, state=state,
            limit=limit, offset=offset,
        )  # fmt: skip

    async def view(self, actor: Actor, edition_id: UUID) -> dict[str, Any]:
        """The edition with the privacy gate's findings on its content (empty when clean)."""
        require_role(actor, *READERS)
        row = await self._row(actor, edition_id)
        return {**row, "privacy_findings": await self._findings(row)}

    async def approve(self, actor: Actor, edition_id: UUID) -> dict[str, Any]:
        require_role(actor, *EDITORS)
        await self._row(actor, edition_id)
        meta = actor.meta()
        await self.commands.change(
            NoticeBoardEdition, edition_id, lambda e: e.approve(meta=meta), what=_WHAT
        )
        return await self.view(actor, edition_id)

    async def publish(self, actor: Actor, edition_id: UUID) -> dict[str, Any]:
        """The last gate: refuse (42280) while the content holds anything protected."""
        require_role(actor, *EDITORS)
        row = await self._row(actor, edition_id)
        if row["state"] == "approved" and (findings := await self._findings(row)):
            raise ApiError(
                42280, "the edition contains protected fields; it was not published",
                findings=[{"path": f.path, "kind": f.kind} for f in findings],
            )  # fmt: skip
        meta, today = actor.meta(), business_day(self.container)
        await self.commands.change(
            NoticeBoardEdition, edition_id, lambda e: e.publish(today=today, meta=meta), what=_WHAT
        )
        return await self.view(actor, edition_id)

    async def withdraw(self, actor: Actor, edition_id: UUID, reason: str) -> dict[str, Any]:
        require_role(actor, *EDITORS)
        await self._row(actor, edition_id)
        meta = actor.meta()
        await self.commands.change(
            NoticeBoardEdition, edition_id, lambda e: e.withdraw(reason, meta=meta), what=_WHAT
        )
        return await self.view(actor, edition_id)

    async def _row(self, actor: Actor, edition_id: UUID) -> dict[str, Any]:
        row = await notice_board.get_edition(self.pool, edition_id)
        if row is None:
            raise ApiError(40400, f"no such {_WHAT}", id=str(edition_id))
        await require_unit_in_scope(self.pool, actor, row["unit_id"])
        return row

    async def _findings(self, row: dict[str, Any]) -> list[Finding]:
        if row["state"] in ("published", "withdrawn"):
            return []  # frozen: it passed the gate when it was published
        protected, residents, addresses = await board.resident_values(
            self.pool, row["unit_id"], on=business_day(self.container)
        )
        known = ProtectedValues(
            staff_phones=await board.staff_work_phones(self.pool),
            protected_names=protected,
            resident_names=residents,
            addresses=addresses,
        )
        return scan_content(row["content"], known)
