"""Queries over the member profile model: coverage (遍访率), closures, facts, as of a day.

"As of ``day``" everywhere means: each staff member's assignment in force that day (from
``staff_assignments``; relieved staff hold none from their relief on), and each household's
grid that day (from ``member_household_grid``). Grid units are placed by their current tree
path: units are moved rarely, households and staff often.

Visits count when not voided and their business day (the phone's visit time in the business
zone, Beijing by default, as the visit log filters) lies in the window; a household counts once
however often it was visited. A window of business days is passed as the instants it starts and
ends at in that zone, so a visit at 00:30 Beijing counts for that Beijing day.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypeAlias
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from events.business_date import day_after_start, day_start

__all__ = [
    "assignments_during",
    "fact_totals",
    "grid_rows",
    "member_rows",
    "visit_count",
]

Conn: TypeAlias = asyncpg.Pool | asyncpg.Connection

# $2 = the "as of" day; the window's first day and its first and after-last instants are the
# parameters each query names below.
_HOUSEHOLD_GRID = (
    "hg AS (SELECT DISTINCT ON (household_id) household_id, grid_id FROM member_household_grid "
    "WHERE effective_from <= $2 ORDER BY household_id, effective_from DESC, version DESC)"
)

_MEMBERS = f"""
WITH a0 AS (
    SELECT DISTINCT ON (sa.staff_id) sa.staff_id, sa.role, sa.scope_unit_id
    FROM staff_assignments sa JOIN staff s ON s.id = sa.staff_id
    WHERE sa.effective_from <= $2 AND (s.relieved_on IS NULL OR s.relieved_on > $2)
      AND ($4::uuid IS NULL OR sa.staff_id = $4)
    ORDER BY sa.staff_id, sa.effective_from DESC, sa.version DESC
), a AS (
    SELECT a0.*, su.code AS scope_code, su.name AS scope_name FROM a0
    JOIN grid_units su ON su.id = a0.scope_unit_id
    WHERE su.path @> ARRAY[$1]::uuid[] AND a0.role = ANY($5::text[])
), {_HOUSEHOLD_GRID}, hs AS (
    SELECT a.staff_id, hg.household_id FROM a
    JOIN grid_units u ON u.path @> ARRAY[a.scope_unit_id] JOIN hg ON hg.grid_id = u.id
)
SELECT a.staff_id, s.name, a.role, a.scope_unit_id, a.scope_code, a.scope_name,
    (SELECT count(*) FROM hs WHERE hs.staff_id = a.staff_id) AS households,
    (SELECT count(*) FROM hs WHERE hs.staff_id = a.staff_id AND EXISTS (
        SELECT 1 FROM visit_log v WHERE v.household_id = hs.household_id
        AND v.visitor_id = a.staff_id AND NOT v.voided
        AND v.visited_at >= $6 AND v.visited_at < $7)) AS visited,
    (SELECT count(*) FROM member_facts f WHERE f.staff_id = a.staff_id
        AND f.kind = 'case_closed' AND f.day BETWEEN $3 AND $2) AS cases_closed,
    (SELECT coalesce(sum(f.amount), 0) FROM member_facts f WHERE f.staff_id = a.staff_id
        AND f.kind = 'case_closed' AND f.day BETWEEN $3 AND $2) AS closed_on_time
FROM a JOIN staff s ON s.id = a.staff_id
"""

_CLOSED = (
    "FROM case_board c JOIN grid_units h ON h.id = c.holder_unit_id "
    "WHERE h.path @> ARRAY[g.id] AND c.closed_at IS NOT NULL "
    "AND c.closed_at >= $4 AND c.closed_at < $5"
)
# On time: no stage of the case ever breached its SLA (a red warning in its board document).
_ON_TIME = """AND NOT (c.doc -> 'warnings' @> '[{"threshold": "red"}]'::jsonb)"""

_GRIDS = f"""
WITH g AS (
    SELECT id, code, name FROM grid_units
    WHERE path @> ARRAY[$1]::uuid[] AND level = $3 AND status = 'active'
), {_HOUSEHOLD_GRID}, hs AS (
    SELECT g.id AS grid_id, hg.household_id FROM g
    JOIN grid_units u ON u.path @> ARRAY[g.id] JOIN hg ON hg.grid_id = u.id
)
SELECT g.id AS unit_id, g.code, g.name,
    (SELECT count(*) FROM hs WHERE hs.grid_id = g.id) AS households,
    (SELECT count(*) FROM hs WHERE hs.grid_id = g.id AND EXISTS (
        SELECT 1 FROM visit_log v WHERE v.household_id = hs.household_id AND NOT v.voided
        AND v.visited_at >= $4 AND v.visited_at < $5)) AS visited,
    (SELECT count(*) {_CLOSED}) AS cases_closed,
    (SELECT count(*) {_CLOSED} {_ON_TIME}) AS closed_on_time
FROM g
"""


async def member_rows(
    conn: Conn,
    *,
    scope_unit_id: UUID,
    as_of: date,
    start: date,
    roles: tuple[str, ...],
    zone: ZoneInfo,
    staff_id: UUID | None = None,
) -> list[dict[str, Any]]:
    """Per staff member assigned within the scope on ``as_of``: households in their scope,
    how many of them they visited in the window, cases they closed and how many on time."""
    rows = await conn.fetch(
        _MEMBERS, scope_unit_id, as_of, start, staff_id, list(roles),
        day_start(start, zone), day_after_start(as_of, zone),
    )  # fmt: skip
    return [dict(r) for r in rows]


async def grid_rows(
    conn: Conn, *, scope_unit_id: UUID, as_of: date, start: date, level: int, zone: ZoneInfo
) -> list[dict[str, Any]]:
    """Per grid unit of ``level`` in the scope: households in its subtree on ``as_of``, how
    many anyone visited in the window, cases closed there and how many on time."""
    window = (day_start(start, zone), day_after_start(as_of, zone))
    rows = await conn.fetch(_GRIDS, scope_unit_id, as_of, level, *window)
    return [dict(r) for r in rows]


async def fact_totals(
    conn: Conn, staff_id: UUID, *, start: date, end: date
) -> dict[tuple[str, str | None], tuple[int, int]]:
    """(kind, detail) -> (how many facts, sum of their amounts) in the window."""
    rows = await conn.fetch(
        "SELECT kind, detail, count(*) AS n, coalesce(sum(amount), 0) AS total "
        "FROM member_facts WHERE staff_id = $1 AND day BETWEEN $2 AND $3 GROUP BY kind, detail",
        staff_id, start, end,
    )  # fmt: skip
    return {(r["kind"], r["detail"]): (int(r["n"]), int(r["total"])) for r in rows}


async def visit_count(conn: Conn, staff_id: UUID, *, start: date, end: date, zone: ZoneInfo) -> int:
    value = await conn.fetchval(
        "SELECT count(*) FROM visit_log v WHERE v.visitor_id = $1 AND NOT v.voided "
        "AND v.visited_at >= $2 AND v.visited_at < $3",
        staff_id, day_start(start, zone), day_after_start(end, zone),
    )  # fmt: skip
    return int(value)


async def assignments_during(
    conn: Conn, staff_id: UUID, *, start: date, end: date
) -> list[dict[str, Any]]:
    """The assignments in force on any day of the window, oldest first (``effective_to``
    exclusive: the next assignment's or the relief's first day)."""
    rows = await conn.fetch(
        "SELECT a.role, a.scope_unit_id, u.code AS scope_code, u.name AS scope_name, "
        "a.effective_from, coalesce(a.effective_to, s.relieved_on) AS effective_to FROM ("
        "SELECT role, scope_unit_id, effective_from, version, lead(effective_from) OVER "
        "(ORDER BY version) AS effective_to FROM staff_assignments WHERE staff_id = $1) a "
        "JOIN staff s ON s.id = $1 JOIN grid_units u ON u.id = a.scope_unit_id "
        "WHERE a.effective_from <= $3 AND (coalesce(a.effective_to, s.relieved_on) IS NULL "
        "OR coalesce(a.effective_to, s.relieved_on) > $2) ORDER BY a.version",
        staff_id, start, end,
    )  # fmt: skip
    return [dict(r) for r in rows]
