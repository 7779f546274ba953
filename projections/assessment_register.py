"""Read model of assessment schemes (their versions) and of period sign-offs, with the queries
that read facts for scoring (:mod:`projections.assessment_facts`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from events.assessment_scoring import Fact
from projections.engine import Recorded

__all__ = [
    "AssessmentRegisterProjection",
    "get_signoff",
    "list_schemes",
    "read_facts",
    "scheme_versions",
    "signoffs_for",
]

_SCHEME = "events.assessment:AssessmentScheme."
_SIGNOFF = "events.assessment_signoff:AssessmentSignOff."


class AssessmentRegisterProjection:
    name = "assessment_register"
    tables: tuple[str, ...] = ("assessment_scheme_versions", "assessment_signoffs")
    ddl = """
    CREATE TABLE IF NOT EXISTS assessment_scheme_versions (
        scheme_id uuid NOT NULL,
        code text NOT NULL,
        period_kind text NOT NULL,
        scheme_version int NOT NULL,
        label text NOT NULL,
        indicators jsonb NOT NULL,
        effective_from date NOT NULL,
        retired_from date,
        PRIMARY KEY (code, scheme_version)
    );
    CREATE TABLE IF NOT EXISTS assessment_signoffs (
        period_id text NOT NULL,
        unit_id uuid NOT NULL,
        unit_level int NOT NULL,
        scheme_code text NOT NULL,
        scheme_version int NOT NULL,
        score numeric(7, 2) NOT NULL,
        through_position bigint NOT NULL,
        fact_count int NOT NULL,
        facts_digest text NOT NULL,
        member_scores jsonb NOT NULL,
        signed_by uuid,
        signed_role text NOT NULL,
        signed_at timestamptz NOT NULL,
        position bigint NOT NULL,
        PRIMARY KEY (period_id, unit_id)
    );
    """

    def interested(self, topic: str) -> bool:
        return topic.startswith((_SCHEME, _SIGNOFF))

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        for rec in batch:
            e, kind = rec.event, type(rec.event).__name__
            if kind == "Signed":
                await _signed(conn, e, rec.position)
            elif kind == "Retired":
                await conn.execute(
                    "UPDATE assessment_scheme_versions SET retired_from = $2 WHERE scheme_id = $1",
                    e.originator_id, e.effective_from,
                )  # fmt: skip
            else:
                await _version(conn, e, kind)


async def _version(conn: asyncpg.Connection, e: Any, kind: str) -> None:
    if kind == "Defined":
        code, period_kind, number = e.code, e.period_kind, 1
    else:
        first = await conn.fetchrow(
            "SELECT code, period_kind FROM assessment_scheme_versions WHERE scheme_id = $1 LIMIT 1",
            e.originator_id,
        )
        code, period_kind, number = first["code"], first["period_kind"], e.scheme_version
    await conn.execute(
        "INSERT INTO assessment_scheme_versions (scheme_id, code, period_kind, scheme_version, "
        "label, indicators, effective_from) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) "
        "ON CONFLICT DO NOTHING",
        e.originator_id, code, period_kind, number, e.label,
        msgspec.json.encode(e.indicators).decode(), e.effective_from,
    )  # fmt: skip


async def _signed(conn: asyncpg.Connection, e: Any, position: int) -> None:
    await conn.execute(
        "INSERT INTO assessment_signoffs VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8, $9, "
        "$10::jsonb, $11, $12, $13, $14) ON CONFLICT DO NOTHING",
        e.period_id, e.unit_id, e.unit_level, e.scheme_code, e.scheme_version, e.score,
        e.through_position, e.fact_count, e.facts_digest,
        msgspec.json.encode(e.member_scores).decode(), e.meta.actor_id, e.meta.role,
        e.timestamp, position,
    )  # fmt: skip


async def list_schemes(conn: asyncpg.Pool | asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM assessment_scheme_versions ORDER BY code, scheme_version"
    )
    return [_scheme_row(r) for r in rows]


async def scheme_versions(
    conn: asyncpg.Pool | asyncpg.Connection, code: str
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM assessment_scheme_versions WHERE code = $1 ORDER BY scheme_version", code
    )
    return [_scheme_row(r) for r in rows]


def _scheme_row(row: asyncpg.Record) -> dict[str, Any]:
    return {**dict(row), "indicators": json.loads(row["indicators"])}


async def get_signoff(
    conn: asyncpg.Pool | asyncpg.Connection, period_id: str, unit_id: UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM assessment_signoffs WHERE period_id = $1 AND unit_id = $2",
        period_id, unit_id,
    )  # fmt: skip


async def signoffs_for(
    conn: asyncpg.Pool | asyncpg.Connection, period_id: str, unit_ids: Sequence[UUID]
) -> dict[UUID, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT * FROM assessment_signoffs WHERE period_id = $1 AND unit_id = ANY($2::uuid[])",
        period_id, list(unit_ids),
    )  # fmt: skip
    return {r["unit_id"]: r for r in rows}


_FACTS = (
    "SELECT position, aggregate_id, aggregate_version, event_type, measure, value, ref_id, "
    "occurred_at FROM assessment_facts "
    "WHERE occurred_at >= $1 AND occurred_at < $2 "
    "AND ($3::uuid IS NULL OR unit_path @> ARRAY[$3]::uuid[]) "
    "AND ($4::uuid IS NULL OR member_id = $4) ORDER BY position, measure"
)


async def read_facts(
    pool: asyncpg.Pool,
    *,
    start_at: datetime,
    end_at: datetime,
    unit_id: UUID | None = None,
    member_id: UUID | None = None,
) -> tuple[int, list[Fact]]:
    """Facts of a period (and unit subtree or member) with the position they are complete to.

    Read in one snapshot with the projection's position, so "covered through position P"
    means exactly these rows."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        through = await conn.fetchval(
            "SELECT position FROM projection_positions WHERE name = 'assessment_facts'"
        )
        rows = await conn.fetch(_FACTS, start_at, end_at, unit_id, member_id)
    return int(through or 0), [_fact(r) for r in rows]


def _fact(row: asyncpg.Record) -> Fact:
    return Fact(
        position=row["position"],
        aggregate_id=row["aggregate_id"],
        aggregate_version=row["aggregate_version"],
        event_type=row["event_type"],
        measure=row["measure"],
        value=row["value"],
        ref_id=row["ref_id"],
        occurred_at=row["occurred_at"],
    )
