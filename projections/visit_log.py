"""Read model of visits (走访): one row per visit, as coverage (遍访率) and profiles read it.

``grid_id`` is the household's grid *when the visit was recorded* and ``visitor_id`` the staff
member who recorded it: assessments count visits per grid and per member as they were done,
whatever moves happen later. ``visited_at`` is the phone's time (shown, filtered on as the
business day); ``recorded_at`` is the server's. Photo pending flags are not stored: a photo
lands in ``media_objects`` independently of any event, so they are joined when read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from events.business_date import day_after_start, day_start
from projections.bulk import insert_new_rows
from projections.engine import Recorded

__all__ = ["VisitLogProjection", "get_visit", "list_visits"]

_PREFIX = "events.visit:Visit."


class VisitLogProjection:
    name = "visit_log"
    tables: tuple[str, ...] = ("visit_log",)
    ddl = """
    CREATE TABLE IF NOT EXISTS visit_log (
        id uuid PRIMARY KEY,
        household_id uuid NOT NULL,
        grid_id uuid NOT NULL,
        visitor_id uuid,
        visitor_role text NOT NULL,
        device_id text NOT NULL,
        purpose text NOT NULL,
        method text NOT NULL,
        visited_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL,
        findings jsonb NOT NULL,
        problems text[] NOT NULL,
        needs text[] NOT NULL,
        notes text,
        gps jsonb,
        photos text[] NOT NULL,
        follow_up_case_ids uuid[] NOT NULL,
        amendments int NOT NULL DEFAULT 0,
        voided boolean NOT NULL DEFAULT false,
        void_reason text,
        version int NOT NULL,
        updated_position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS visit_log_grid ON visit_log (grid_id, visited_at);
    CREATE INDEX IF NOT EXISTS visit_log_household ON visit_log (household_id, visited_at);
    CREATE INDEX IF NOT EXISTS visit_log_visitor ON visit_log (visitor_id, visited_at);
    """

    def interested(self, topic: str) -> bool:
        return topic.startswith(_PREFIX)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        # A few statements per batch, not one per event: every insert first (one COPY), then
        # every change in log order. Equal to folding one by one because a visit's Recorded
        # (version 1) precedes its changes in the log, and a change touches only its own row.
        inserts, changes = [], []
        for rec in batch:
            e, kind = rec.event, type(rec.event).__name__
            if kind == "Recorded":
                inserts.append(_recorded_row(e, rec.position))
            elif kind in ("Amended", "Voided"):
                changes.append(_change_row(e, kind, rec.position))
        await insert_new_rows(conn, "visit_log", _COLUMNS, inserts, order_by="updated_position")
        if changes:
            await conn.executemany(_CHANGE, changes)


_COLUMNS = (
    "id", "household_id", "grid_id", "visitor_id", "visitor_role", "device_id", "purpose",
    "method", "visited_at", "recorded_at", "findings", "problems", "needs", "notes", "gps",
    "photos", "follow_up_case_ids", "version", "updated_position",
)  # fmt: skip
# One statement for both kinds of change, so a batch's changes apply in log order ($2 says
# which: an amendment rewrites the notes and needs, a voiding marks the row void).
_CHANGE = (
    "UPDATE visit_log SET "
    "notes = CASE WHEN $2 THEN $3 ELSE notes END, "
    "needs = CASE WHEN $2 THEN $4::text[] ELSE needs END, "
    "findings = CASE WHEN $2 THEN jsonb_set(findings, '{notes}', to_jsonb($3::text)) "
    "ELSE findings END, "
    "amendments = amendments + CASE WHEN $2 THEN 1 ELSE 0 END, "
    "voided = voided OR NOT $2, "
    "void_reason = CASE WHEN $2 THEN void_reason ELSE $5 END, "
    "version = $6, updated_position = $7 WHERE id = $1"
)


def _change_row(e: Any, kind: str, position: int) -> tuple[Any, ...]:
    if kind == "Amended":
        return (e.originator_id, True, e.notes, list(e.needs), None, e.originator_version,
                position)  # fmt: skip
    return (e.originator_id, False, None, None, e.reason, e.originator_version, position)


def _json(struct: Any) -> str:
    return msgspec.json.encode(struct).decode()


def _recorded_row(e: Any, position: int) -> tuple[Any, ...]:
    # The structs' own JSON (every field, as declared): jsonb compares by value, not spelling.
    f = e.findings
    gps = None if e.gps is None else _json(e.gps)
    return (
        e.originator_id, e.household_id, e.grid_id, e.meta.actor_id, e.meta.role,
        e.meta.device_id, e.purpose, e.method, e.visited_at, e.timestamp, _json(f),
        list(f.problems), list(e.needs), f.notes, gps, list(e.photos),
        list(e.follow_up_case_ids), e.originator_version, position,
    )  # fmt: skip


# The pending photos: hashes no upload has stored yet (joined at read time, see above).
_SELECT = (
    "SELECT v.*, ARRAY(SELECT p FROM unnest(v.photos) AS p WHERE NOT EXISTS "
    "(SELECT 1 FROM media_objects m WHERE m.sha256 = p)) AS pending_photos FROM visit_log v "
)


def _row(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    out["findings"] = json.loads(out["findings"])
    out["gps"] = None if out["gps"] is None else json.loads(out["gps"])
    return out


async def get_visit(
    conn: asyncpg.Pool | asyncpg.Connection, visit_id: UUID
) -> dict[str, Any] | None:
    row = await conn.fetchrow(_SELECT + "WHERE v.id = $1", visit_id)
    return None if row is None else _row(row)


async def list_visits(
    conn: asyncpg.Pool | asyncpg.Connection,
    *,
    scope_unit_id: UUID,
    grid_id: UUID | None,
    household_id: UUID | None,
    visitor_id: UUID | None,
    purpose: str | None,
    date_from: date | None,
    date_to: date | None,
    include_voided: bool,
    limit: int,
    offset: int,
    zone: ZoneInfo,
) -> tuple[int, list[dict[str, Any]]]:
    """Visits whose grid (at visit time) lies in the scope; dates are business days in
    ``zone`` (a visit at 00:30 Beijing belongs to that Beijing day)."""
    where = (
        "JOIN grid_units u ON u.id = v.grid_id WHERE u.path @> ARRAY[$1]::uuid[] "
        "AND ($2::uuid IS NULL OR u.path @> ARRAY[$2]::uuid[]) "
        "AND ($3::uuid IS NULL OR v.household_id = $3) "
        "AND ($4::uuid IS NULL OR v.visitor_id = $4) AND ($5::text IS NULL OR v.purpose = $5) "
        "AND ($6::timestamptz IS NULL OR v.visited_at >= $6) "
        "AND ($7::timestamptz IS NULL OR v.visited_at < $7) "
        "AND ($8 OR NOT v.voided)"
    )
    first = None if date_from is None else day_start(date_from, zone)
    after = None if date_to is None else day_after_start(date_to, zone)
    args = (scope_unit_id, grid_id, household_id, visitor_id, purpose, first, after)
    total = await conn.fetchval(f"SELECT count(*) FROM visit_log v {where}", *args, include_voided)
    rows = await conn.fetch(
        f"{_SELECT}{where} ORDER BY v.visited_at DESC, v.id LIMIT $9 OFFSET $10",
        *args, include_voided, limit, offset,
    )  # fmt: skip
    return int(total), [_row(r) for r in rows]
