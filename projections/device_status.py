"""Read model of devices as sync sees them: per-device outcomes, last contact, clock offset.

Folded from sync receipts only (re-sends write no event, so they are not counted). The clock
offset is the server-minus-device time measured at each push; its spread (skew) exposes a
drifting or hand-set clock. Offsets are shown to supervisors, never used to order anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from projections.engine import Recorded

__all__ = ["DeviceStatusProjection", "list_devices"]

_PREFIX = "events.sync_receipt:SyncReceipt."
_COUNTED = ("accepted", "rejected", "deferred", "review", "conflict")


class DeviceStatusProjection:
    name = "device_status"
    tables: tuple[str, ...] = ("sync_device_status",)
    ddl = """
    CREATE TABLE IF NOT EXISTS sync_device_status (
        device_id text NOT NULL,
        staff_id uuid NOT NULL,
        accepted int NOT NULL DEFAULT 0,
        rejected int NOT NULL DEFAULT 0,
        deferred int NOT NULL DEFAULT 0,
        review int NOT NULL DEFAULT 0,
        conflict int NOT NULL DEFAULT 0,
        last_seen_at timestamptz NOT NULL,
        last_device_seq bigint NOT NULL,
        clock_offset_ms bigint NOT NULL,
        min_offset_ms bigint NOT NULL,
        max_offset_ms bigint NOT NULL,
        PRIMARY KEY (device_id, staff_id)
    );
    CREATE INDEX IF NOT EXISTS sync_device_status_staff ON sync_device_status (staff_id);
    """

    def interested(self, topic: str) -> bool:
        return topic.startswith(_PREFIX)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        received: list[Any] = []  # folded per device in memory, written once per device
        for rec in batch:
            e, kind = rec.event, type(rec.event).__name__
            if kind == "Received":
                received.append(e)
                continue
            await _received(conn, received)  # a later change may concern one of them
            received = []
            if kind in ("Applied", "Refused"):
                to = "accepted" if kind == "Applied" else "rejected"
                await _move(conn, e, e.from_status, to)
            elif kind == "Flagged":
                await _move(conn, e, "deferred", "review")
            elif kind == "ConflictRecorded":
                await _move(conn, e, None, "conflict")
        await _received(conn, received)


async def _received(conn: asyncpg.Connection, events: list[Any]) -> None:
    devices: dict[tuple[str, Any], list[Any]] = {}
    for e in events:
        devices.setdefault((e.device_id, e.staff_id), []).append(e)
    rows = []
    for (device_id, staff_id), seen in devices.items():
        counts = [sum(e.status == s for e in seen) for s in _COUNTED]
        offsets = [e.clock_offset_ms for e in seen]
        last_seen, last_seq = max(e.timestamp for e in seen), max(e.device_seq for e in seen)
        extremes = (offsets[-1], min(offsets), max(offsets))
        rows.append((device_id, staff_id, *counts, last_seen, last_seq, *extremes))
    if not rows:
        return
    await conn.executemany(
        "INSERT INTO sync_device_status AS d (device_id, staff_id, accepted, rejected, deferred, "
        "review, conflict, last_seen_at, last_device_seq, clock_offset_ms, min_offset_ms, "
        "max_offset_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
        "ON CONFLICT (device_id, staff_id) DO UPDATE SET accepted = d.accepted + $3, "
        "rejected = d.rejected + $4, deferred = d.deferred + $5, review = d.review + $6, "
        "conflict = d.conflict + $7, last_seen_at = greatest(d.last_seen_at, $8), "
        "last_device_seq = greatest(d.last_device_seq, $9), clock_offset_ms = $10, "
        "min_offset_ms = least(d.min_offset_ms, $11), "
        "max_offset_ms = greatest(d.max_offset_ms, $12)",
        rows,
    )


async def _move(conn: asyncpg.Connection, e: Any, source: str | None, target: str) -> None:
    # Column names come from the fixed _COUNTED list, never from event content.
    dec = f", {source} = {source} - 1" if source in _COUNTED else ""
    assert target in _COUNTED
    await conn.execute(
        f"UPDATE sync_device_status SET {target} = {target} + 1{dec} "
        "WHERE device_id = $1 AND staff_id = $2",
        e.device_id, e.staff_id,
    )  # fmt: skip


async def list_devices(
    conn: asyncpg.Pool | asyncpg.Connection,
    *,
    scope_unit_id: UUID,
    staff_id: UUID | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Devices of staff whose scope lies inside ``scope_unit_id``, most recently seen first."""
    where = (
        "FROM sync_device_status d JOIN staff s ON s.id = d.staff_id "
        "JOIN grid_units u ON u.id = s.scope_unit_id WHERE u.path @> ARRAY[$1]::uuid[] "
        "AND ($2::uuid IS NULL OR d.staff_id = $2)"
    )
    total = await conn.fetchval(f"SELECT count(*) {where}", scope_unit_id, staff_id)
    rows = await conn.fetch(
        f"SELECT d.*, s.name AS staff_name, d.max_offset_ms - d.min_offset_ms AS clock_skew_ms "
        f"{where} "
        "ORDER BY d.last_seen_at DESC, d.device_id LIMIT $3 OFFSET $4",
        scope_unit_id, staff_id, limit, offset,
    )  # fmt: skip
    return int(total), [dict(r) for r in rows]
