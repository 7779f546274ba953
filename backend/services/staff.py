"""Use cases of the staff roster: appoint, reassign, relieve, issue a WeChat binding code."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import asyncpg

from backend.auth import new_binding_code
from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.auth import auth_service
from backend.services.commands import CommandRunner
from backend.services.scope import require_role, require_unit_in_scope
from events.staff import Staff
from projections import staff_roster

__all__ = ["BINDING_CODE_TTL", "StaffService"]

BINDING_CODE_TTL = timedelta(days=3)


class StaffService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.pool = container.pool
        self.commands = CommandRunner(container)

    async def appoint(
        self,
        actor: Actor,
        *,
        name: str,
        work_phone: str,
        role: str,
        scope_unit_id: UUID,
        effective_from: date,
    ) -> asyncpg.Record:
        require_role(actor, "admin")
        await require_unit_in_scope(self.pool, actor, scope_unit_id)
        meta = actor.meta()
        staff = Staff.appoint(
            name=name,
            work_phone=work_phone,
            role=role,
            scope_unit_id=scope_unit_id,
            effective_from=effective_from,
            meta=meta,
        )
        await self.commands.create(lambda: staff, what="staff member")
        return await self._fresh(staff.id)

    async def reassign(
        self, actor: Actor, staff_id: UUID, *, role: str, scope_unit_id: UUID, effective_from: date
    ) -> asyncpg.Record:
        await self.get_in_scope(actor, staff_id, manage=True)
        await require_unit_in_scope(self.pool, actor, scope_unit_id)
        meta = actor.meta()
        await self.commands.change(
            Staff,
            staff_id,
            lambda s: s.reassign(role, scope_unit_id, effective_from, meta=meta),
            what="staff member",
        )
        return await self._fresh(staff_id)

    async def relieve(
        self, actor: Actor, staff_id: UUID, *, reason: str, effective_from: date
    ) -> asyncpg.Record:
        await self.get_in_scope(actor, staff_id, manage=True)
        if staff_id == actor.staff_id:
            raise ApiError(40910, "you cannot relieve yourself", state="self")
        meta = actor.meta()
        await self.commands.change(
            Staff,
            staff_id,
            lambda s: s.relieve(effective_from, reason, meta=meta),
            what="staff member",
        )
        # Requests already fail on the next roster read; revoking also stops refreshes and
        # records why in the session table.
        await auth_service(self.container).revoke_staff_sessions(staff_id, "relieved")
        return await self._fresh(staff_id)

    async def issue_binding_code(self, actor: Actor, staff_id: UUID) -> tuple[str, datetime]:
        """A one-time code the staff member enters at first WeChat login; shown once."""
        await self.get_in_scope(actor, staff_id, manage=True)
        code, code_hash = new_binding_code()
        expires_at = datetime.now(UTC) + BINDING_CODE_TTL
        meta = actor.meta()
        await self.commands.change(
            Staff,
            staff_id,
            lambda s: s.issue_binding_code(code_hash, expires_at, meta=meta),
            what="staff member",
        )
        return code, expires_at

    async def get_in_scope(
        self, actor: Actor, staff_id: UUID, *, manage: bool = False
    ) -> asyncpg.Record:
        if manage:
            require_role(actor, "admin")
        row = await staff_roster.get_staff(self.pool, staff_id)
        if row is None:
            raise ApiError(40400, "no such staff member", id=str(staff_id))
        if row["id"] != actor.staff_id:
            await require_unit_in_scope(self.pool, actor, row["scope_unit_id"])
        return row

    async def _fresh(self, staff_id: UUID) -> asyncpg.Record:
        row = await staff_roster.get_staff(self.pool, staff_id)
        assert row is not None, "projection awaited after the save"
        return row
