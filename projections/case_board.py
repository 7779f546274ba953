"""Read model of the case board (事件看板): one row per case, and each case's history.

A row holds the case's fold document (:mod:`projections.case_board_fold`) plus the columns
lists filter on. It stores what the SLA clock needs, not a deadline: deadlines and colours
depend on the SLA policy and working calendar, reference data an admin may change after the
fact, so the reader computes them with the policy current at query time. (The price: the
``overdue`` filter is decided in Python over the open cases that pass the SQL filters, not by
an index. A town has hundreds to a few thousand open cases, which is cheap; a ``deadline_at``
column folded with the default policy would be fast but wrong as soon as an admin edits a rule.)

Scope is a join to ``grid_units.path``: a caller sees cases held in their subtree, dispatched
to a unit in it, or dispatched to them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from projections.case_board_fold import HISTORY_DETAIL, fold_case, new_case_doc
from projections.engine import Recorded

__all__ = [
    "BoardFilter",
    "CaseBoardProjection",
    "case_history",
    "get_case_row",
    "list_board",
    "open_unsuspended",
    "pending_photos",
]

_PREFIXES = ("events.case:Case.", "events.case_events:CaseRecord.")
Doc = dict[str, Any]


class CaseBoardProjection:
    name = "case_board"
    tables: tuple[str, ...] = ("case_board", "case_history")
    ddl = """
    CREATE TABLE IF NOT EXISTS case_board (
        id uuid PRIMARY KEY,
        category text NOT NULL,
        status text NOT NULL,
        suspended boolean NOT NULL,
        level int NOT NULL,
        holder_unit_id uuid NOT NULL,
        assignee_staff_id uuid,
        assignee_unit_id uuid,
        stage text,
        escalated boolean NOT NULL,
        reported_at timestamptz NOT NULL,
        closed_at timestamptz,
        doc jsonb NOT NULL,
        version int NOT NULL,
        updated_position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS case_board_holder ON case_board (holder_unit_id, reported_at);
    CREATE INDEX IF NOT EXISTS case_board_assignee ON case_board (assignee_staff_id);
    CREATE INDEX IF NOT EXISTS case_board_open ON case_board (reported_at)
        WHERE stage IS NOT NULL AND NOT suspended;
    CREATE TABLE IF NOT EXISTS case_history (
        case_id uuid NOT NULL,
        version int NOT NULL,
        at timestamptz NOT NULL,
        event text NOT NULL,
        actor_id uuid,
        role text NOT NULL,
        client_time timestamptz,
        detail jsonb NOT NULL,
        PRIMARY KEY (case_id, version)
    );
    """

    def interested(self, topic: str) -> bool:
        return topic.startswith(_PREFIXES)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        # Fold the batch in memory and write each touched case once (cheap catch-up).
        docs: dict[UUID, Doc] = {}
        positions: dict[UUID, int] = {}
        history: list[tuple[Any, ...]] = []
        for rec in batch:
            e = rec.event
            cid = e.originator_id
            if type(e).__name__ == "Reported":
                docs[cid] = new_case_doc(e)
            else:
                docs[cid] = fold_case(docs.get(cid) or await _load(conn, cid), e)
            positions[cid] = rec.position
            history.append(_history_row(e))
        for cid, doc in docs.items():
            await _store(conn, doc, positions[cid])
        await conn.executemany(
            "INSERT INTO case_history VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) "
            "ON CONFLICT DO NOTHING",
            history,
        )


def _clean(value: Any) -> Any:
    """PostgreSQL text and jsonb cannot hold NUL, and a fold that fails stalls the board (and
    every caller waiting for it); the event keeps the original, the board shows U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _device_time(moment: datetime | None) -> datetime | None:
    """The phone's clock as reported; one PostgreSQL cannot hold (or Python cannot convert to
    UTC, e.g. year 1 at +23:59) is dropped rather than stalling the fold."""
    if moment is None:
        return None
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        return None


def _history_row(e: Any) -> tuple[Any, ...]:
    detail = {}
    for key in HISTORY_DETAIL:
        value = getattr(e, key, None)
        if value is not None:
            detail[key] = list(value) if isinstance(value, tuple) else value
    return (
        e.originator_id, e.originator_version, e.timestamp, type(e).__name__,
        e.meta.actor_id, _clean(e.meta.role), _device_time(e.meta.client_time),
        json.dumps(_clean(detail), default=str),
    )  # fmt: skip


async def _load(conn: asyncpg.Connection, cid: UUID) -> Doc:
    raw = await conn.fetchval("SELECT doc FROM case_board WHERE id = $1", cid)
    loaded: Doc = json.loads(raw)
    return loaded


def _uuid(value: str | None) -> UUID | None:
    return UUID(value) if value else None


async def _store(conn: asyncpg.Connection, doc: Doc, position: int) -> None:
    doc = _clean(doc)
    await conn.execute(
        "INSERT INTO case_board (id, category, status, suspended, level, holder_unit_id, "
        "assignee_staff_id, assignee_unit_id, stage, escalated, reported_at, closed_at, doc, "
        "version, updated_position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "$11::text::timestamptz, $12::text::timestamptz, $13::jsonb, $14, $15) "
        "ON CONFLICT (id) DO UPDATE SET status = $3, suspended = $4, level = $5, "
        "holder_unit_id = $6, assignee_staff_id = $7, assignee_unit_id = $8, stage = $9, "
        "escalated = $10, closed_at = $12::text::timestamptz, doc = $13::jsonb, version = $14, "
        "updated_position = $15",
        UUID(doc["id"]), doc["category"], doc["status"], doc["suspended"], doc["level"],
        UUID(doc["holder_unit_id"]), _uuid(doc["assignee_staff_id"]),
        _uuid(doc["assignee_unit_id"]), doc["stage"], bool(doc["escalations"]),
        doc["reported_at"], doc["closed_at"], json.dumps(doc), doc["version"], position,
    )  # fmt: skip


# -- queries ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BoardFilter:
    """SQL-side filters of the board; ``open_only`` keeps cases whose SLA clock can run."""

    scope_unit_id: UUID
    viewer_id: UUID
    status: str | None = None
    category: str | None = None
    level: int | None = None
    escalated: bool | None = None
    assignee_staff_id: UUID | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    open_only: bool = False


_VISIBLE = (
    "FROM case_board c JOIN grid_units h ON h.id = c.holder_unit_id "
    "LEFT JOIN grid_units a ON a.id = c.assignee_unit_id "
    "WHERE (h.path @> ARRAY[$1]::uuid[] OR a.path @> ARRAY[$1]::uuid[] "
    "OR c.assignee_staff_id = $2) "
    "AND ($3::text IS NULL OR (CASE WHEN c.suspended THEN 'suspended' ELSE c.status END) = $3) "
    "AND ($4::text IS NULL OR c.category = $4) AND ($5::int IS NULL OR c.level = $5) "
    "AND ($6::bool IS NULL OR c.escalated = $6) AND ($7::uuid IS NULL OR c.assignee_staff_id = $7) "
    "AND ($8::timestamptz IS NULL OR c.reported_at >= $8) "
    "AND ($9::timestamptz IS NULL OR c.reported_at < $9) "
    "AND (NOT $10 OR c.stage IS NOT NULL)"
)


def _args(f: BoardFilter) -> tuple[Any, ...]:
    return (
        f.scope_unit_id, f.viewer_id, f.status, f.category, f.level, f.escalated,
        f.assignee_staff_id, f.reported_from, f.reported_to, f.open_only,
    )  # fmt: skip


async def list_board(
    conn: asyncpg.Pool | asyncpg.Connection,
    f: BoardFilter,
    *,
    limit: int | None,
    offset: int = 0,
) -> tuple[int, list[Doc]]:
    """Newest first; ``limit=None`` returns every match (the caller filters and pages)."""
    total = await conn.fetchval(f"SELECT count(*) {_VISIBLE}", *_args(f))
    rows = await conn.fetch(
        f"SELECT c.doc {_VISIBLE} ORDER BY c.reported_at DESC, c.id LIMIT $11 OFFSET $12",
        *_args(f),
        limit,
        offset,
    )
    return int(total), [dict(json.loads(r["doc"])) for r in rows]


async def get_case_row(conn: asyncpg.Pool | asyncpg.Connection, case_id: UUID) -> Doc | None:
    raw = await conn.fetchval("SELECT doc FROM case_board WHERE id = $1", case_id)
    return None if raw is None else dict(json.loads(raw))


async def open_unsuspended(conn: asyncpg.Pool | asyncpg.Connection) -> list[Doc]:
    """Every case whose SLA clock runs now (the scheduler's work list)."""
    rows = await conn.fetch(
        "SELECT doc FROM case_board WHERE stage IS NOT NULL AND NOT suspended ORDER BY reported_at"
    )
    return [dict(json.loads(r["doc"])) for r in rows]


async def case_history(conn: asyncpg.Pool | asyncpg.Connection, case_id: UUID) -> list[Doc]:
    rows = await conn.fetch(
        "SELECT version, at, event, actor_id, role, client_time, detail FROM case_history "
        "WHERE case_id = $1 ORDER BY version",
        case_id,
    )
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


async def pending_photos(
    conn: asyncpg.Pool | asyncpg.Connection, hashes: Sequence[str]
) -> set[str]:
    """The photos among ``hashes`` that have not been uploaded yet ("photo pending")."""
    if not hashes:
        return set()
    rows = await conn.fetch(
        "SELECT sha256 FROM media_objects WHERE sha256 = ANY($1::text[])", list(set(hashes))
    )
    return set(hashes) - {r["sha256"] for r in rows}
