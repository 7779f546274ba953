"""Read model of staff: who holds which role over which scope now, and since when.

Auth reads this on every request (role and scope are re-derived, never trusted from a token),
so it is one indexed row per staff member; ``staff_assignments`` keeps the history for "as of"
questions (who was responsible for grid X on a given day).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from events.staff import Staff
from projections.engine import Recorded

__all__ = [
    "StaffRosterProjection",
    "assignments_of",
    "get_staff",
    "list_staff",
    "staff_by_binding_code_hash",
    "staff_by_openid_hash",
]

_PREFIX = "events.staff:Staff."


class StaffRosterProjection:
    name = "staff_roster"
    tables: tuple[str, ...] = ("staff", "staff_assignments")
    ddl = """
    CREATE TABLE IF NOT EXISTS staff (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        work_phone text NOT NULL,
        role text NOT NULL,
        scope_unit_id uuid NOT NULL,
        status text NOT NULL,
        openid_hash text UNIQUE,
        binding_code_hash text UNIQUE,
        appointed_on date NOT NULL,
        relieved_on date,
        version int NOT NULL
    );
    CREATE INDEX IF NOT EXISTS staff_scope ON staff (scope_unit_id);
    CREATE TABLE IF NOT EXISTS staff_assignments (
        staff_id uuid NOT NULL,
        version int NOT NULL,
        role text NOT NULL,
        scope_unit_id uuid NOT NULL,
        effective_from date NOT NULL,
        PRIMARY KEY (staff_id, version)
    );
    """

    def interested(self, topic: str) -> bool:
        return topic.startswith(_PREFIX)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        for rec in batch:
            await self._apply_one(conn, rec.event)

    async def _apply_one(self, conn: asyncpg.Connection, e: Any) -> None:
        sid, version = e.originator_id, e.originator_version
        if isinstance(e, Staff.Appointed):
            await conn.execute(
                "INSERT INTO staff (id, name, work_phone, role, scope_unit_id, status, "
                "appointed_on, version) VALUES ($1, $2, $3, $4, $5, 'active', $6, $7)",
                sid,
                e.name,
                e.work_phone,
                e.role,
                e.scope_unit_id,
                e.effective_from,
                version,
            )
            await _assignment(conn, sid, version, e.role, e.scope_unit_id, e.effective_from)
        elif isinstance(e, Staff.Reassigned):
            await _set(conn, sid, version, "role = $3, scope_unit_id = $4", e.role, e.scope_unit_id)
            await _assignment(conn, sid, version, e.role, e.scope_unit_id, e.effective_from)
        elif isinstance(e, Staff.Relieved):
            await _set(
                conn,
                sid,
                version,
                "status = 'relieved', relieved_on = $3, "
                "openid_hash = NULL, binding_code_hash = NULL",
                e.effective_from,
            )
        elif isinstance(e, Staff.BindingCodeIssued):
            await _set(conn, sid, version, "binding_code_hash = $3", e.code_hash)
        elif isinstance(e, Staff.WechatBound):
            await _set(
                conn, sid, version, "openid_hash = $3, binding_code_hash = NULL", e.openid_hash
            )
        elif isinstance(e, Staff.WechatUnbound):
            await _set(conn, sid, version, "openid_hash = NULL")
        else:
            await _set(conn, sid, version, "version = version")


async def _set(
    conn: asyncpg.Connection, sid: UUID, version: int, assignments: str, *args: Any
) -> None:
    await conn.execute(
        f"UPDATE staff SET {assignments}, version = $2 WHERE id = $1", sid, version, *args
    )


async def _assignment(
    conn: asyncpg.Connection, sid: UUID, version: int, role: str, scope: UUID, effective_from: date
) -> None:
    await conn.execute(
        "INSERT INTO staff_assignments VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        sid,
        version,
        role,
        scope,
        effective_from,
    )


_COLUMNS = (
    "s.id, s.name, s.work_phone, s.role, s.scope_unit_id, s.status, s.appointed_on, "
    "s.relieved_on, s.version, s.openid_hash IS NOT NULL AS wechat_bound"
)


async def get_staff(
    conn: asyncpg.Pool | asyncpg.Connection, staff_id: UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM staff s WHERE s.id = $1", staff_id)


async def assignments_of(
    conn: asyncpg.Pool | asyncpg.Connection, staff_id: UUID
) -> list[asyncpg.Record]:
    """Every role and scope the staff member held, oldest first; ``effective_to`` exclusive."""
    return list(
        await conn.fetch(
            "SELECT role, scope_unit_id, effective_from, lead(effective_from) OVER (ORDER BY "
            "version) AS effective_to FROM staff_assignments WHERE staff_id = $1 ORDER BY version",
            staff_id,
        )
    )


async def staff_by_openid_hash(
    conn: asyncpg.Pool | asyncpg.Connection, openid_hash: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM staff s WHERE s.openid_hash = $1 AND s.status = 'active'",
        openid_hash,
    )


async def staff_by_binding_code_hash(
    conn: asyncpg.Pool | asyncpg.Connection, code_hash: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM staff s WHERE s.binding_code_hash = $1 AND s.status = 'active'",
        code_hash,
    )


async def list_staff(
    conn: asyncpg.Pool | asyncpg.Connection,
    *,
    scope_unit_id: UUID,
    role: str | None,
    include_relieved: bool,
    limit: int,
    offset: int,
) -> tuple[int, Sequence[asyncpg.Record]]:
    where = (
        "FROM staff s JOIN grid_units u ON u.id = s.scope_unit_id "
        "WHERE u.path @> ARRAY[$1]::uuid[] AND ($2::text IS NULL OR s.role = $2) "
        "AND ($3 OR s.status = 'active')"
    )
    total = await conn.fetchval(f"SELECT count(*) {where}", scope_unit_id, role, include_relieved)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} {where} ORDER BY s.name, s.id LIMIT $4 OFFSET $5",
        scope_unit_id,
        role,
        include_relieved,
        limit,
        offset,
    )
    return int(total), rows
