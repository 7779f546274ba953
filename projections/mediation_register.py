"""Read model of mediations (调解台账): one row per dispute mediation, its sessions and outcome.

Parties reference persons or households; the row keeps the households behind them
(``household_ids``, a person resolved to their household when the mediation is folded). Scope is
decided when read, through those households' *current* grids: the staff now responsible for a
party's household see the dispute, including after the household moved.
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
from projections.engine import Recorded

__all__ = [
    "MediationRegisterProjection",
    "get_mediation",
    "household_of_person",
    "list_mediations",
    "mediation_in_scope",
]

_PREFIX = "events.mediation:Mediation."


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


class MediationRegisterProjection:
    name = "mediation_register"
    tables: tuple[str, ...] = ("mediation_register",)
    ddl = """
    CREATE TABLE IF NOT EXISTS mediation_register (
        id uuid PRIMARY KEY,
        case_id uuid,
        state text NOT NULL,
        outcome text,
        referred_to text,
        agreement_summary text,
        agreement_photo text,
        follow_up_due date,
        parties jsonb NOT NULL,
        mediators jsonb NOT NULL,
        sessions jsonb NOT NULL DEFAULT '[]',
        follow_ups jsonb NOT NULL DEFAULT '[]',
        household_ids uuid[] NOT NULL,
        mediator_staff_ids uuid[] NOT NULL,
        opened_by uuid,
        opened_at timestamptz NOT NULL,
        concluded_at timestamptz,
        version int NOT NULL,
        updated_position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS mediation_register_households
        ON mediation_register USING gin (household_ids);
    CREATE INDEX IF NOT EXISTS mediation_register_opened ON mediation_register (opened_at);
    """

    def interested(self, topic: str) -> bool:
        return topic.startswith(_PREFIX)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        for rec in batch:
            e, kind = rec.event, type(rec.event).__name__
            if kind == "Opened":
                await _opened(conn, e, rec.position)
            elif kind == "SessionRecorded":
                entry = {
                    "session_id": e.session_id, "held_at": e.held_at, "notes": e.notes,
                    "attendees": e.attendees, "recorded_at": e.timestamp,
                }  # fmt: skip
                await _append(conn, e, rec.position, "sessions", entry)
            elif kind == "FollowUpRecorded":
                entry = {"visit_id": e.visit_id, "result": e.result, "recorded_at": e.timestamp}
                await _append(conn, e, rec.position, "follow_ups", entry)
            elif kind == "Concluded":
                await _concluded(conn, e, rec.position)


async def household_of_person(
    conn: asyncpg.Pool | asyncpg.Connection, person_id: UUID
) -> UUID | None:
    """The household whose file lists this person now."""
    found: UUID | None = await conn.fetchval(
        "SELECT id FROM household_files WHERE doc->'persons' ? $1 LIMIT 1", str(person_id)
    )
    return found


async def _opened(conn: asyncpg.Connection, e: Any, position: int) -> None:
    households = [p.ref_id for p in e.parties if p.kind == "household"]
    for party in (p for p in e.parties if p.kind == "person"):
        if (found := await household_of_person(conn, party.ref_id)) is not None:
            households.append(found)
    await conn.execute(
        "INSERT INTO mediation_register (id, case_id, state, parties, mediators, household_ids, "
        "mediator_staff_ids, opened_by, opened_at, version, updated_position) VALUES "
        "($1, $2, 'open', $3::jsonb, $4::jsonb, $5, $6, $7, $8, $9, $10) "
        "ON CONFLICT (id) DO NOTHING",
        e.originator_id, e.case_id, _json(e.parties), _json(e.mediators),
        list(dict.fromkeys(households)),
        [m.staff_id for m in e.mediators if m.staff_id is not None],
        e.meta.actor_id, e.timestamp, e.originator_version, position,
    )  # fmt: skip


async def _append(
    conn: asyncpg.Connection, e: Any, position: int, column: str, entry: dict[str, Any]
) -> None:
    await conn.execute(
        f"UPDATE mediation_register SET {column} = {column} || jsonb_build_array($2::jsonb), "
        "version = $3, updated_position = $4 WHERE id = $1",
        e.originator_id, _json(entry), e.originator_version, position,
    )  # fmt: skip


async def _concluded(conn: asyncpg.Connection, e: Any, position: int) -> None:
    await conn.execute(
        "UPDATE mediation_register SET state = 'concluded', outcome = $2, referred_to = $3, "
        "agreement_summary = $4, agreement_photo = $5, follow_up_due = $6, concluded_at = $7, "
        "version = $8, updated_position = $9 WHERE id = $1",
        e.originator_id, e.outcome, e.referred_to, e.agreement_summary, e.agreement_photo,
        e.follow_up_due, e.timestamp, e.originator_version, position,
    )  # fmt: skip


_SELECT = (
    "SELECT m.*, (m.agreement_photo IS NOT NULL AND NOT EXISTS (SELECT 1 FROM media_objects o "
    "WHERE o.sha256 = m.agreement_photo)) AS photo_pending FROM mediation_register m "
)
# A mediation is in a scope when one of its parties' households is, by its current grid.
_IN_SCOPE = (
    "EXISTS (SELECT 1 FROM household_files h JOIN grid_units u ON u.id = h.grid_id "
    "WHERE h.id = ANY(m.household_ids) AND u.path @> ARRAY[$1]::uuid[])"
)


def _row(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    for key in ("parties", "mediators", "sessions", "follow_ups"):
        out[key] = json.loads(out[key])
    return out


async def get_mediation(
    conn: asyncpg.Pool | asyncpg.Connection, mediation_id: UUID
) -> dict[str, Any] | None:
    row = await conn.fetchrow(_SELECT + "WHERE m.id = $1", mediation_id)
    return None if row is None else _row(row)


async def mediation_in_scope(
    conn: asyncpg.Pool | asyncpg.Connection, mediation_id: UUID, scope_unit_id: UUID
) -> bool:
    return bool(
        await conn.fetchval(
            f"SELECT {_IN_SCOPE} FROM mediation_register m WHERE m.id = $2",
            scope_unit_id,
            mediation_id,
        )
    )


async def list_mediations(
    conn: asyncpg.Pool | asyncpg.Connection,
    *,
    scope_unit_id: UUID,
    state: str | None,
    outcome: str | None,
    date_from: date | None,
    date_to: date | None,
    limit: int,
    offset: int,
    zone: ZoneInfo,
) -> tuple[int, list[dict[str, Any]]]:
    """Mediations in the scope, newest first; dates are business days (in ``zone``) of the
    opening."""
    where = (
        f"WHERE {_IN_SCOPE} AND ($2::text IS NULL OR m.state = $2) "
        "AND ($3::text IS NULL OR m.outcome = $3) "
        "AND ($4::timestamptz IS NULL OR m.opened_at >= $4) "
        "AND ($5::timestamptz IS NULL OR m.opened_at < $5)"
    )
    first = None if date_from is None else day_start(date_from, zone)
    after = None if date_to is None else day_after_start(date_to, zone)
    args = (scope_unit_id, state, outcome, first, after)
    total = await conn.fetchval(f"SELECT count(*) FROM mediation_register m {where}", *args)
    rows = await conn.fetch(
        f"{_SELECT}{where} ORDER BY m.opened_at DESC, m.id LIMIT $6 OFFSET $7",
        *args, limit, offset,
    )  # fmt: skip
    return int(total), [_row(r) for r in rows]
