"""Read model of the grid tree: current units with materialised paths, and dated history.

``path`` is the array of unit ids from the town down to the unit itself, so "is X inside the
scope rooted at S" is ``path @> ARRAY[S]`` on a GIN index, and a move rewrites the paths of the
moved subtree in one statement. ``grid_unit_history`` keeps every effective-dated change so
"as of" questions (which village was this grid in on 1 March?) are answered from rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from events.grid import GridUnit
from projections.engine import Recorded

__all__ = ["GridTreeProjection", "get_unit", "list_units", "unit_in_scope", "units_as_of"]

_PREFIX = "events.grid:GridUnit."


class GridTreeProjection:
    name = "grid_tree"
    tables: tuple[str, ...] = ("grid_units", "grid_unit_history")
    ddl = """
    CREATE TABLE IF NOT EXISTS grid_units (
        id uuid PRIMARY KEY,
        code text NOT NULL UNIQUE,
        name text NOT NULL,
        level int NOT NULL,
        parent_id uuid,
        path uuid[] NOT NULL,
        status text NOT NULL,
        effective_from date NOT NULL,
        version int NOT NULL,
        updated_position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS grid_units_path ON grid_units USING gin (path);
    CREATE TABLE IF NOT EXISTS grid_unit_history (
        unit_id uuid NOT NULL,
        version int NOT NULL,
        effective_from date NOT NULL,
        name text NOT NULL,
        parent_id uuid,
        status text NOT NULL,
        PRIMARY KEY (unit_id, version)
    );
    """

    def interested(self, topic: str) -> bool:
        return topic.startswith(_PREFIX)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        for rec in batch:
            e = rec.event
            if isinstance(e, GridUnit.Created):
                await self._created(conn, e, rec.position)
            elif isinstance(e, GridUnit.Renamed):
                await self._update(conn, e, rec.position, name=e.name)
            elif isinstance(e, GridUnit.Moved):
                await self._moved(conn, e, rec.position)
            elif isinstance(e, GridUnit.Retired):
                await self._update(conn, e, rec.position, status="retired")
            await _history(conn, e.originator_id, e.originator_version)

    async def _created(self, conn: asyncpg.Connection, e: Any, position: int) -> None:
        parent_path = (
            await conn.fetchval("SELECT path FROM grid_units WHERE id = $1", e.parent_id)
            if e.parent_id
            else []
        )
        await conn.execute(
            "INSERT INTO grid_units (id, code, name, level, parent_id, path, status, "
            "effective_from, version, updated_position) "
            "VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9)",
            e.originator_id,
            e.code,
            e.name,
            e.level,
            e.parent_id,
            [*(parent_path or []), e.originator_id],
            e.effective_from,
            e.originator_version,
            position,
        )

    async def _update(self, conn: asyncpg.Connection, e: Any, position: int, **cols: str) -> None:
        ((column, value),) = cols.items()
        await conn.execute(
            f"UPDATE grid_units SET {column} = $2, effective_from = $3, version = $4, "
            "updated_position = $5 WHERE id = $1",
            e.originator_id,
            value,
            e.effective_from,
            e.originator_version,
            position,
        )

    async def _moved(self, conn: asyncpg.Connection, e: Any, position: int) -> None:
        parent_path = await conn.fetchval(
            "SELECT path FROM grid_units WHERE id = $1", e.new_parent_id
        )
        new_prefix = [*(parent_path or []), e.originator_id]
        # Rewrite the whole subtree: every row whose path runs through the moved unit keeps
        # the part below it and takes the new prefix.
        await conn.execute(
            "UPDATE grid_units SET path = $2::uuid[] || path[array_position(path, $1) + 1:] "
            "WHERE path @> ARRAY[$1]::uuid[]",
            e.originator_id,
            new_prefix,
        )
        await conn.execute(
            "UPDATE grid_units SET parent_id = $2, effective_from = $3, version = $4, "
            "updated_position = $5 WHERE id = $1",
            e.originator_id,
            e.new_parent_id,
            e.effective_from,
            e.originator_version,
            position,
        )


async def _history(conn: asyncpg.Connection, unit_id: UUID, version: int) -> None:
    await conn.execute(
        "INSERT INTO grid_unit_history (unit_id, version, effective_from, name, parent_id, "
        "status) SELECT id, $2, effective_from, name, parent_id, status FROM grid_units "
        "WHERE id = $1 ON CONFLICT DO NOTHING",
        unit_id,
        version,
    )


_COLUMNS = "id, code, name, level, parent_id, status, effective_from, version, path"


async def get_unit(conn: asyncpg.Pool | asyncpg.Connection, unit_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM grid_units WHERE id = $1", unit_id)


async def unit_in_scope(
    conn: asyncpg.Pool | asyncpg.Connection, unit_id: UUID, scope_unit_id: UUID
) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM grid_units WHERE id = $1 AND path @> ARRAY[$2]::uuid[]",
        unit_id,
        scope_unit_id,
    )
    return found is not None


async def list_units(
    conn: asyncpg.Pool | asyncpg.Connection,
    *,
    scope_unit_id: UUID,
    level: int | None,
    include_retired: bool,
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"SELECT {_COLUMNS} FROM grid_units WHERE path @> ARRAY[$1]::uuid[] "
            "AND ($2::int IS NULL OR level = $2) AND ($3 OR status = 'active') "
            "ORDER BY code",
            scope_unit_id,
            level,
            include_retired,
        )
    )


async def units_as_of(
    conn: asyncpg.Pool | asyncpg.Connection, unit_ids: Sequence[UUID], day: date
) -> list[asyncpg.Record]:
    """Each unit's latest history row effective on ``day`` (absent if created later)."""
    return list(
        await conn.fetch(
            "SELECT DISTINCT ON (h.unit_id) h.unit_id AS id, u.code, u.level, h.name, h.parent_id, "
            "h.status, h.effective_from, h.version FROM grid_unit_history h "
            "JOIN grid_units u ON u.id = h.unit_id WHERE h.unit_id = ANY($1::uuid[]) "
            "AND h.effective_from <= $2 ORDER BY h.unit_id, h.effective_from DESC, h.version DESC",
            list(unit_ids),
            day,
        )
    )
