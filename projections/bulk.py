"""Writing a batch of new rows with one COPY instead of one statement per row.

A rebuild folds hundreds of thousands of rows per read model, and the worker process that
folds every projection is single-threaded: ``executemany`` costs a protocol message and a
reply per row on both sides, a COPY costs neither. COPY cannot skip rows that already exist:
it runs in a savepoint, and if a row conflicts (it should not: each row is a new event's) the
rows go through a session-local staging table (emptied at every commit) and
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` instead — each row exactly as if inserted
alone, in the order given by ``order_by`` (log order: the first of two rows with the same key
wins). Either way the rows are those ``INSERT ... ON CONFLICT DO NOTHING`` row by row leaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

__all__ = ["insert_new_rows"]


async def insert_new_rows(
    conn: asyncpg.Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    order_by: str,
) -> None:
    """Insert ``rows`` (values for ``columns``) into ``table``, skipping conflicting ones.

    Must run inside a transaction (the engine's batch transaction)."""
    if not rows:
        return
    try:
        # The savepoint: a conflict undoes the COPY only, not the batch's other writes.
        async with conn.transaction():
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        return
    except asyncpg.UniqueViolationError:
        pass
    staging, names = f"{table}_incoming", ", ".join(columns)
    # The columns' types only, no constraints: the target's keys and checks decide.
    await conn.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "
        f"SELECT {names} FROM {table} WITH NO DATA"
    )
    await conn.copy_records_to_table(staging, records=rows, columns=list(columns))
    await conn.execute(
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging} ORDER BY {order_by} "
        f"ON CONFLICT DO NOTHING; DELETE FROM {staging}"
    )
