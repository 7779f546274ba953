"""Read model of sync receipts: what became of each pushed event.

It serves three readers: the review queue (held events in a supervisor's scope), the phone's own
``event_status`` rows in its pull, and the release of deferred events (which ones to retry).
The stored ``body`` is the canonical pushed content, kept so a reviewer sees what was sent.
``waiting_for`` follows the receipt's own rule (:mod:`events.sync_receipt`): replaced by
``WaitChanged``, emptied once the event is accepted or rejected. Rows folded before that rule
keep a stale value until ``gridledger projections rebuild sync_receipts``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from projections.engine import Recorded

__all__ = ["SyncReceiptsProjection", "deferred_receipts", "get_receipt", "list_held"]

_PREFIX = "events.sync_receipt:SyncReceipt."
Conn: TypeAlias = "asyncpg.Pool | asyncpg.Connection"


class SyncReceiptsProjection:
    name = "sync_receipts"
    tables: tuple[str, ...] = ("sync_receipts",)
    ddl = """
    CREATE TABLE IF NOT EXISTS sync_receipts (
        receipt_id uuid PRIMARY KEY,
        event_id uuid NOT NULL UNIQUE,
        staff_id uuid NOT NULL,
        role text NOT NULL,
        device_id text NOT NULL,
        device_seq bigint NOT NULL,
        event_type text NOT NULL,
        captured_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL,
        clock_offset_ms bigint NOT NULL,
        unit_id uuid,
        status text NOT NULL,
        errcode int,
        reason text,
        waiting_for text[] NOT NULL,
        body jsonb NOT NULL,
        conflicts int NOT NULL DEFAULT 0,
        decided_by uuid,
        decision_reason text,
        updated_position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS sync_receipts_held ON sync_receipts (status, received_at)
        WHERE status IN ('deferred', 'review', 'conflict');
    CREATE INDEX IF NOT EXISTS sync_receipts_staff ON sync_receipts (staff_id);
    """

    def interested(self, topic: str) -> bool:
        return topic.startswith(_PREFIX)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        received: list[tuple[Any, ...]] = []  # new receipts, inserted together (most events)
        for rec in batch:
            e, kind = rec.event, type(rec.event).__name__
            if kind == "Received":
                received.append(_received_row(e, rec.position))
                continue
            await _insert(conn, received)  # a later change may concern one of them
            received = []
            if kind == "Applied":
                await _set(conn, e, rec.position, "accepted", None, None, e.decided_by, None)
            elif kind == "Refused":
                await _set(conn, e, rec.position, "rejected", e.errcode, e.reason,
                           e.decided_by, e.reason)  # fmt: skip
            elif kind == "Flagged":
                await _set(conn, e, rec.position, "review", e.errcode, e.reason, None, None)
            elif kind == "WaitChanged":
                await conn.execute(
                    "UPDATE sync_receipts SET waiting_for = $2, errcode = $3, reason = $4, "
                    "updated_position = $5 WHERE receipt_id = $1",
                    e.originator_id, list(e.waiting_for), e.errcode, e.reason, rec.position,
                )  # fmt: skip
            elif kind == "ConflictRecorded":
                await conn.execute(
                    "UPDATE sync_receipts SET conflicts = conflicts + 1, updated_position = $2 "
                    "WHERE receipt_id = $1",
                    e.originator_id, rec.position,
                )  # fmt: skip
        await _insert(conn, received)


def _received_row(e: Any, position: int) -> tuple[Any, ...]:
    return (
        e.originator_id, e.event_id, e.staff_id, e.role, e.device_id, e.device_seq,
        e.event_type, e.captured_at, e.timestamp, e.clock_offset_ms, e.unit_id, e.status,
        e.errcode, e.reason, list(e.waiting_for), e.body, position,
    )  # fmt: skip


async def _insert(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    await conn.executemany(
        "INSERT INTO sync_receipts (receipt_id, event_id, staff_id, role, device_id, device_seq, "
        "event_type, captured_at, received_at, clock_offset_ms, unit_id, status, errcode, reason, "
        "waiting_for, body, updated_position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "$11, $12, $13, $14, $15, $16::jsonb, $17) ON CONFLICT (receipt_id) DO NOTHING",
        rows,
    )


async def _set(
    conn: asyncpg.Connection, e: Any, position: int, status: str, errcode: int | None,
    reason: str | None, decided_by: UUID | None, decision_reason: str | None,
) -> None:  # fmt: skip
    # An accepted or rejected event waits for nothing any more (a flagged one still does).
    await conn.execute(
        "UPDATE sync_receipts SET status = $2, errcode = $3, reason = $4, decided_by = $5, "
        "decision_reason = $6, updated_position = $7, waiting_for = CASE WHEN $2 IN "
        "('accepted', 'rejected') THEN '{}'::text[] ELSE waiting_for END WHERE receipt_id = $1",
        e.originator_id, status, errcode, reason, decided_by, decision_reason, position,
    )  # fmt: skip


def _row(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    out["body"] = json.loads(out["body"])
    return out


async def list_held(
    conn: Conn, *, scope_unit_id: UUID, statuses: Sequence[str], limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """Receipts in ``statuses`` whose grid (or, when unknown, the author's scope at push) lies
    in the scope, oldest first; ``conflict`` also lists receipts re-sent with other content."""
    where = (
        "FROM sync_receipts r JOIN grid_units u ON u.id = coalesce(r.unit_id, "
        "(SELECT s.scope_unit_id FROM staff s WHERE s.id = r.staff_id)) "
        "WHERE (r.status = ANY($1::text[]) OR ('conflict' = ANY($1::text[]) AND r.conflicts > 0)) "
        "AND u.path @> ARRAY[$2]::uuid[]"
    )
    total = await conn.fetchval(f"SELECT count(*) {where}", list(statuses), scope_unit_id)
    rows = await conn.fetch(
        f"SELECT r.* {where} ORDER BY r.received_at, r.event_id LIMIT $3 OFFSET $4",
        list(statuses), scope_unit_id, limit, offset,
    )  # fmt: skip
    return int(total), [_row(r) for r in rows]


async def get_receipt(conn: Conn, event_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM sync_receipts WHERE event_id = $1", event_id)
    return None if row is None else _row(row)


async def deferred_receipts(conn: Conn, *, limit: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT event_id, received_at FROM sync_receipts WHERE status = 'deferred' "
            "ORDER BY received_at LIMIT $1",
            limit,
        )
    )
