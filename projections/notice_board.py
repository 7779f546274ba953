"""Read model of notice-board editions (公示): one row per edition, its content as ``jsonb``.

Drafts and approved editions are for staff in scope; the public reads only editions that were
published (current while today is inside their 公示期, expired after it, withdrawn when taken
down). The content itself is composed from the other read models by
:mod:`projections.notice_board_content` and frozen in the edition's events, so this fold only
copies what the events say.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg
import msgspec

from projections.engine import Recorded

__all__ = [
    "NoticeBoardProjection",
    "get_edition",
    "list_editions",
    "public_editions",
]

Conn: TypeAlias = asyncpg.Pool | asyncpg.Connection
_PREFIX = "events.notice_board:NoticeBoardEdition."


class NoticeBoardProjection:
    name = "notice_board"
    tables: tuple[str, ...] = ("notice_board_editions",)
    ddl = """
    CREATE TABLE IF NOT EXISTS notice_board_editions (
        id uuid PRIMARY KEY,
        unit_id uuid NOT NULL,
        state text NOT NULL,
        period_start date NOT NULL,
        period_end date NOT NULL,
        content jsonb NOT NULL,
        content_sha256 text,
        composed_by uuid,
        composed_at timestamptz NOT NULL,
        approved_by uuid,
        approved_at timestamptz,
        published_by uuid,
        published_at timestamptz,
        withdrawn_by uuid,
        withdrawn_at timestamptz,
        withdrawn_reason text,
        version int NOT NULL,
        updated_position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS notice_board_editions_unit
        ON notice_board_editions (unit_id, composed_at);
    """

    def interested(self, topic: str) -> bool:
        return topic.startswith(_PREFIX)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        for rec in batch:
            e, kind = rec.event, type(rec.event).__name__
            if kind == "Composed":
                await _composed(conn, e, rec.position)
                continue
            column = {"Approved": "approved", "Published": "published", "Withdrawn": "withdrawn"}
            await _decided(conn, e, rec.position, column[kind])


async def _composed(conn: asyncpg.Connection, e: Any, position: int) -> None:
    await conn.execute(
        "INSERT INTO notice_board_editions (id, unit_id, state, period_start, period_end, "
        "content, composed_by, composed_at, version, updated_position) VALUES "
        "($1, $2, 'draft', $3, $4, $5::jsonb, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        e.originator_id, e.unit_id, e.period_start, e.period_end,
        msgspec.json.encode(e.content).decode(), e.meta.actor_id, e.timestamp,
        e.originator_version, position,
    )  # fmt: skip


async def _decided(conn: asyncpg.Connection, e: Any, position: int, step: str) -> None:
    # ``step`` is one of three fixed words (never input): it names the state and its columns.
    await conn.execute(
        f"UPDATE notice_board_editions SET state = $2, {step}_by = $3, {step}_at = $4, "
        "content_sha256 = COALESCE($5, content_sha256), "
        "withdrawn_reason = COALESCE($6, withdrawn_reason), version = $7, "
        "updated_position = $8 WHERE id = $1",
        e.originator_id, step, e.meta.actor_id, e.timestamp,
        getattr(e, "content_sha256", None), getattr(e, "reason", None),
        e.originator_version, position,
    )  # fmt: skip


_COLUMNS = (
    "e.id, e.unit_id, e.state, e.period_start, e.period_end, e.content, e.content_sha256, "
    "e.composed_by, e.composed_at, e.approved_by, e.approved_at, e.published_by, "
    "e.published_at, e.withdrawn_by, e.withdrawn_at, e.withdrawn_reason, e.version"
)


def _row(record: asyncpg.Record) -> dict[str, Any]:
    row = dict(record)
    row["content"] = json.loads(row["content"])
    return row


async def get_edition(conn: Conn, edition_id: UUID) -> dict[str, Any] | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM notice_board_editions e WHERE e.id = $1", edition_id
    )
    return None if record is None else _row(record)


async def list_editions(
    conn: Conn,
    *,
    scope_unit_id: UUID,
    unit_id: UUID,
    state: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Editions of units inside the scope, newest first."""
    where = (
        "FROM notice_board_editions e JOIN grid_units u ON u.id = e.unit_id "
        "WHERE u.path @> ARRAY[$1]::uuid[] AND e.unit_id = $2 "
        "AND ($3::text IS NULL OR e.state = $3)"
    )
    args = (scope_unit_id, unit_id, state)
    total = await conn.fetchval(f"SELECT count(*) {where}", *args)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} {where} ORDER BY e.composed_at DESC, e.id LIMIT $4 OFFSET $5",
        *args,
        limit,
        offset,
    )
    return int(total), [_row(r) for r in rows]


async def public_editions(conn: Conn, unit_id: UUID, *, limit: int) -> list[dict[str, Any]]:
    """Editions the public may know of (published at some point), newest publication first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM notice_board_editions e WHERE e.unit_id = $1 "
        "AND e.published_at IS NOT NULL ORDER BY e.published_at DESC, e.id LIMIT $2",
        unit_id,
        limit,
    )
    return [_row(r) for r in rows]
