"""Access audit (issue 6 item 6): who read sensitive data, revealed it or exported it, and why.

Every read of S3 evidence, every reveal of protected fields and every export is written here
*before* the data leaves the server, so a failed write means no silent read. The table is
append-only for the application's role (SELECT and INSERT only, see ``storage.db_roles``).
The older ``media_access_log`` (photo views) is folded into the same queryable view.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.services.actor import Actor
from backend.services.scope import require_role

__all__ = ["AUDITOR_ROLES", "AccessEntry", "AccessQuery", "query", "query_as", "record"]

AUDITOR_ROLES = ("auditor",)

_MAX_TEXT = 500  # reasons and ids are short; a longer one is cut, never refused after the fact

_INSERT = (
    "INSERT INTO access_audit (actor_id, actor_role, action, subject_kind, subject_id, reason,"
    " request_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) RETURNING id"
)

# One view over the three logs: the media log (photo views) and the export audit (list exports,
# backend/services/exports.py) predate this table and keep being written by their services;
# photo views carry no role (it can be read off the staff roster), neither carries a request id.
_VIEW = """
    SELECT 'a' || id AS entry_id, at, actor_id, actor_role, action, subject_kind, subject_id,
           reason, request_id, details::text AS details
      FROM access_audit
    UNION ALL
    SELECT 'm' || id, at, staff_id, NULL, 'photo_read', 'photo', sha256, purpose, NULL, '{}'
      FROM media_access_log
    UNION ALL
    SELECT 'x' || id::text, at, staff_id, role, 'list_export', 'export', what, reason, NULL,
           jsonb_build_object('format', format, 'filters', filters, 'row_count', row_count,
                              'file_sha256', file_sha256, 'scope_unit_id', scope_unit_id)::text
      FROM export_audit
"""


class AccessEntry(msgspec.Struct, kw_only=True):
    entry_id: str
    """``a<n>`` access audit, ``m<n>`` photo access log, ``x<uuid>`` list export audit."""
    at: datetime
    actor_id: UUID | None
    actor_role: str | None
    action: str
    subject_kind: str
    subject_id: str
    reason: str
    request_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class AccessQuery:
    actor_id: UUID | None = None
    subject_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


async def record(
    pool: asyncpg.Pool | asyncpg.Connection,
    *,
    actor: Actor,
    action: str,
    subject_kind: str,
    subject_id: str,
    reason: str,
    details: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> int:
    """Write one audit entry and return its id; call it before handing out the data."""
    row_id: int = await pool.fetchval(
        _INSERT,
        actor.staff_id,
        actor.role,
        action[:_MAX_TEXT],
        subject_kind[:_MAX_TEXT],
        subject_id[:_MAX_TEXT],
        reason[:_MAX_TEXT],
        request_id[:_MAX_TEXT] if request_id else None,
        json.dumps(details or {}, default=str),
    )
    return row_id


async def query(pool: asyncpg.Pool, q: AccessQuery) -> list[AccessEntry]:
    """Newest first, filtered by actor, subject and time window (``since`` ≤ at < ``until``)."""
    sql = (
        f"SELECT * FROM ({_VIEW}) v WHERE ($1::uuid IS NULL OR actor_id = $1)"
        " AND ($2::text IS NULL OR subject_id = $2)"
        " AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)"
        " ORDER BY at DESC, entry_id DESC LIMIT $5 OFFSET $6"
    )
    rows = await pool.fetch(sql, q.actor_id, q.subject_id, q.since, q.until, q.limit, q.offset)
    return [_entry(r) for r in rows]


async def query_as(pool: asyncpg.Pool, actor: Actor, q: AccessQuery) -> list[AccessEntry]:
    """:func:`query` for an auditor (the only role that may read the access audit)."""
    require_role(actor, *AUDITOR_ROLES)
    return await query(pool, q)


def _entry(row: asyncpg.Record) -> AccessEntry:
    return AccessEntry(
        entry_id=row["entry_id"],
        at=row["at"],
        actor_id=row["actor_id"],
        actor_role=row["actor_role"],
        action=row["action"],
        subject_kind=row["subject_kind"],
        subject_id=row["subject_id"],
        reason=row["reason"],
        request_id=row["request_id"],
        details=json.loads(row["details"]),
    )
