"""Per-period totals of the assessment facts, so a ranking reads a few rows per subject instead
of every fact of the period (a town's quarter holds ~10^5 facts).

Folded with the facts (same batch, same transaction, so the totals are always exactly the facts
of the position recorded for ``assessment_facts``), keyed by the three ids of every period a
fact's business day (Beijing by default: the zone the projection is built with) falls in — its
quarter, month and bi-week — since every period a scheme scores is one of those
(:mod:`events.assessment_period`):

* ``assessment_totals``: sum of values and number of facts per (period, unit path, member,
  measure) — the count indicators, rates and penalties;
* ``assessment_visit_totals``: net visits per (period, unit path, member, household) — "distinct
  households with a visit left standing" is not a sum, so a subject's households are counted
  after summing a household's net visits over the whole subject (a household visited in two
  grids of a village counts once for the village).

Either grows with the grid tree, the staff and the households, never with the number of facts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from events.assessment_scoring import Tally
from events.business_date import business_day

__all__ = [
    "TOTALS_TABLES",
    "add_totals",
    "period_ids",
    "periods_sql",
    "read_tallies",
    "totals_ddl",
]

TOTALS_TABLES: Final = ("assessment_totals", "assessment_visit_totals")
_ZONE_KEY: Final = re.compile(r"[A-Za-z0-9_+\-/]+")
_PERIODS_SQL: Final = """
    CROSS JOIN LATERAL (SELECT (f.occurred_at AT TIME ZONE '{zone}')::date AS day) AS d
    CROSS JOIN LATERAL (SELECT extract(week FROM d.day)::int AS week) AS w
    CROSS JOIN LATERAL (VALUES
        (to_char(d.day, 'YYYY') || '-Q' || to_char(d.day, 'Q')),
        (to_char(d.day, 'YYYY-MM')),
        (to_char(d.day, 'IYYY') || '-W' || CASE WHEN w.week = 53 THEN '53-53'
            ELSE lpad((w.week - 1 + w.week % 2)::text, 2, '0') || '-'
                 || lpad((w.week + w.week % 2)::text, 2, '0') END)
    ) AS p(id)
"""


def periods_sql(zone: ZoneInfo) -> str:
    """The quarter, month and bi-week ids of a fact's business day in ``zone``, as
    period_ids() gives them (a DO block takes no parameters: the zone is a checked IANA key)."""
    if not _ZONE_KEY.fullmatch(zone.key):
        raise ValueError(f"not a plain IANA zone name: {zone.key!r}")
    return _PERIODS_SQL.replace("{zone}", zone.key)


# Facts folded before the totals existed (an upgrade) are summed once, under locks that wait
# for a fold in flight (it writes the totals before the facts) and hold off the next one.
_BACKFILL: Final = """
    DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM assessment_totals) AND EXISTS (SELECT 1 FROM assessment_facts)
    THEN
        LOCK TABLE assessment_totals, assessment_visit_totals, assessment_facts
            IN SHARE ROW EXCLUSIVE MODE;
        IF NOT EXISTS (SELECT 1 FROM assessment_totals) THEN
            INSERT INTO assessment_totals SELECT p.id, f.unit_path, f.member_id, f.measure,
                sum(f.value), count(*) FROM assessment_facts f {periods}
                GROUP BY p.id, f.unit_path, f.member_id, f.measure;
            INSERT INTO assessment_visit_totals SELECT p.id, f.unit_path, f.member_id, f.ref_id,
                sum(f.value) FROM assessment_facts f {periods} WHERE f.measure = 'visit'
                GROUP BY p.id, f.unit_path, f.member_id, f.ref_id;
        END IF;
    END IF;
    END $$;
"""
_TABLES_DDL: Final = """
    -- Every fact updates rows in place: free room on the page keeps those updates HOT (no
    -- index writes), a fifth off the fold's cost of these tables.
    CREATE TABLE IF NOT EXISTS assessment_totals (
        period_id text NOT NULL,
        unit_path uuid[] NOT NULL,
        member_id uuid,
        measure text NOT NULL,
        total bigint NOT NULL,
        facts bigint NOT NULL,
        CONSTRAINT assessment_totals_key
            UNIQUE NULLS NOT DISTINCT (period_id, unit_path, member_id, measure)
    ) WITH (fillfactor = 50);
    CREATE TABLE IF NOT EXISTS assessment_visit_totals (
        period_id text NOT NULL,
        unit_path uuid[] NOT NULL,
        member_id uuid,
        ref_id uuid,
        total bigint NOT NULL,
        CONSTRAINT assessment_visit_totals_key
            UNIQUE NULLS NOT DISTINCT (period_id, unit_path, member_id, ref_id)
    ) WITH (fillfactor = 50);
"""


def totals_ddl(zone: ZoneInfo) -> str:
    """The totals' tables, and the one-off backfill of facts folded before them."""
    return _TABLES_DDL + _BACKFILL.replace("{periods}", periods_sql(zone))


# Fact rows are tuples in projections.assessment_facts_fold._FACT_COLUMNS order.
_POSITION, _MEASURE, _MEMBER, _PATH, _VALUE, _REF, _WHEN = 0, 1, 5, 7, 8, 9, 10

_UPSERT_TOTALS = (
    "INSERT INTO assessment_totals AS t SELECT p, path::uuid[], m, ms, v, n FROM "
    "unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::bigint[], $6::bigint[]) "
    "AS x(p, path, m, ms, v, n) ON CONFLICT ON CONSTRAINT assessment_totals_key DO UPDATE "
    "SET total = t.total + excluded.total, facts = t.facts + excluded.facts"
)
_UPSERT_VISITS = (
    "INSERT INTO assessment_visit_totals AS t SELECT p, path::uuid[], m, r, v FROM "
    "unnest($1::text[], $2::text[], $3::uuid[], $4::uuid[], $5::bigint[]) "
    "AS x(p, path, m, r, v) ON CONFLICT ON CONSTRAINT assessment_visit_totals_key DO UPDATE "
    "SET total = t.total + excluded.total"
)


def period_ids(day: date) -> tuple[str, str, str]:
    """The quarter, month and bi-week (ids as :func:`parse_period` reads them) holding ``day``."""
    iso = day.isocalendar()
    first = iso.week if iso.week % 2 or iso.week == 53 else iso.week - 1
    second = 53 if iso.week == 53 else first + 1
    return (
        f"{day.year}-Q{(day.month - 1) // 3 + 1}",
        f"{day.year}-{day.month:02d}",
        f"{iso.year}-W{first:02d}-{second:02d}",
    )


async def add_totals(
    conn: asyncpg.Connection, facts: Sequence[Sequence[Any]], zone: ZoneInfo
) -> None:
    """Add the batch's new fact rows, counted for the periods of their business day in
    ``zone``, to the totals — call before inserting them: a row whose
    (position, measure) is already stored is skipped there, so it is skipped here too (and of
    two rows with one key in the batch the first in log order is the one kept)."""
    if not facts:
        return
    stored = await conn.fetch(
        "SELECT position, measure FROM assessment_facts WHERE position = ANY($1::bigint[])",
        list({f[_POSITION] for f in facts}),
    )
    seen = {(r["position"], r["measure"]) for r in stored}
    totals: dict[tuple[Any, ...], list[int]] = {}
    visits: dict[tuple[Any, ...], int] = {}
    for f in sorted(facts, key=lambda f: (f[_POSITION], f[_MEASURE])):
        if (key := (f[_POSITION], f[_MEASURE])) in seen:
            continue
        seen.add(key)
        path = "{" + ",".join(str(u) for u in f[_PATH]) + "}"
        for period in period_ids(business_day(f[_WHEN], zone)):
            counted = totals.setdefault((period, path, f[_MEMBER], f[_MEASURE]), [0, 0])
            counted[0], counted[1] = counted[0] + f[_VALUE], counted[1] + 1
            if f[_MEASURE] == "visit":
                household = (period, path, f[_MEMBER], f[_REF])
                visits[household] = visits.get(household, 0) + f[_VALUE]
    await _upsert(conn, totals, visits)


async def _upsert(
    conn: asyncpg.Connection,
    totals: dict[tuple[Any, ...], list[int]],
    visits: dict[tuple[Any, ...], int],
) -> None:
    if totals:
        keys = list(totals)
        await conn.execute(
            _UPSERT_TOTALS, *(list(column) for column in zip(*keys, strict=True)),
            [totals[k][0] for k in keys], [totals[k][1] for k in keys],
        )  # fmt: skip
    if visits:
        keys = list(visits)
        await conn.execute(
            _UPSERT_VISITS, *(list(column) for column in zip(*keys, strict=True)),
            [visits[k] for k in keys],
        )  # fmt: skip


def _subject_join(kind: str, table: str) -> str:
    match = "t.unit_path @> ARRAY[s.id]" if kind == "unit" else "t.member_id = s.id"
    return f"FROM unnest($2::uuid[]) AS s(id) JOIN {table} t ON {match} WHERE t.period_id = $1"


async def read_tallies(
    pool: asyncpg.Pool, *, period_id: str, kind: str, subject_ids: Sequence[UUID]
) -> tuple[int, dict[UUID, Tally]]:
    """Each subject's tally for the period (a unit: its subtree; a member: their facts) with the
    position the facts are complete to, read in one snapshot — "covered through position P"."""
    sums = (
        f"SELECT s.id AS subject, t.measure, sum(t.total) AS total, sum(t.facts) AS facts "
        f"{_subject_join(kind, 'assessment_totals')} GROUP BY s.id, t.measure"
    )
    households = (
        f"SELECT subject, count(*) AS visited FROM (SELECT s.id AS subject "
        f"{_subject_join(kind, 'assessment_visit_totals')} GROUP BY s.id, t.ref_id "
        f"HAVING sum(t.total) > 0) AS standing GROUP BY subject"
    )
    ids = list(subject_ids)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        through = await conn.fetchval(
            "SELECT position FROM projection_positions WHERE name = 'assessment_facts'"
        )
        sum_rows = await conn.fetch(sums, period_id, ids)
        visited = {r["subject"]: r["visited"] for r in await conn.fetch(households, period_id, ids)}
    return int(through or 0), _tallies(ids, sum_rows, visited)


def _tallies(
    ids: list[UUID], sum_rows: list[asyncpg.Record], visited: dict[UUID, int]
) -> dict[UUID, Tally]:
    measures: dict[UUID, dict[str, int]] = {i: {} for i in ids}
    facts: dict[UUID, int] = dict.fromkeys(ids, 0)
    for r in sum_rows:
        measures[r["subject"]][r["measure"]] = int(r["total"])
        facts[r["subject"]] += int(r["facts"])
    return {
        i: Tally(sums=measures[i], households_visited=visited.get(i, 0), fact_count=facts[i])
        for i in ids
    }
