"""The sealed Merkle tree in PostgreSQL: leaves, perfect subtrees and signed checkpoints.

``merkle_leaves`` maps contiguous leaf numbers to log positions (eventsourcing's positions can
have gaps where an insert rolled back, so a leaf number is *not* ``position - 1`` in general);
``merkle_nodes`` holds every completed perfect subtree above the leaves; ``log_checkpoints``
the signed checkpoints. All three are only ever inserted into.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

import asyncpg

from storage.eventstore import EVENTS_TABLE
from storage.merkle import NodeId, StoredRecord

__all__ = [
    "SealedEntry",
    "SealedTail",
    "StoredCheckpoint",
    "append_sealed",
    "checkpoint_at",
    "checkpoints",
    "fetch_nodes",
    "insert_checkpoint",
    "latest_checkpoint",
    "sealed_entry",
    "sealed_tail",
]

Conn: TypeAlias = asyncpg.Pool | asyncpg.Connection


@dataclass(frozen=True, slots=True)
class SealedTail:
    size: int
    """Leaves sealed so far (the next leaf number)."""
    last_position: int
    """Log position of the last sealed leaf (0 before the first)."""


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    tree_size: int
    root_hash: bytes
    key_id: str
    signed_note: str
    issued_at: datetime


async def sealed_tail(conn: Conn) -> SealedTail:
    row = await conn.fetchrow(
        "SELECT leaf_index, position FROM merkle_leaves ORDER BY leaf_index DESC LIMIT 1"
    )
    return SealedTail(0, 0) if row is None else SealedTail(row[0] + 1, row[1])


async def fetch_nodes(conn: Conn, nodes: Iterable[NodeId]) -> dict[NodeId, bytes]:
    """Hashes of the given perfect subtrees in one round trip (level 0 from the leaves)."""
    wanted = set(nodes)
    leaves = [i for level, i in wanted if level == 0]
    upper = [(level, i) for level, i in wanted if level > 0]
    rows = await conn.fetch(
        "SELECT 0 AS level, leaf_index AS idx, leaf_hash AS hash FROM merkle_leaves"
        " WHERE leaf_index = ANY($1::bigint[])"
        " UNION ALL SELECT n.level, n.idx, n.hash FROM merkle_nodes n"
        " JOIN unnest($2::smallint[], $3::bigint[]) AS w(level, idx)"
        " ON n.level = w.level AND n.idx = w.idx",
        leaves,
        [level for level, _ in upper],
        [i for _, i in upper],
    )
    found = {(r["level"], r["idx"]): bytes(r["hash"]) for r in rows}
    if missing := wanted - found.keys():
        raise LookupError(f"sealed tree is missing nodes {sorted(missing)[:5]}")
    return found


async def append_sealed(
    conn: asyncpg.Connection,
    leaves: Sequence[tuple[int, int, bytes]],
    nodes: Sequence[tuple[int, int, bytes]],
) -> None:
    """COPY new ``(leaf_index, position, hash)`` leaves and ``(level, idx, hash)`` nodes; a
    second sealer racing this one fails on the primary keys and its transaction rolls back."""
    await conn.copy_records_to_table(
        "merkle_leaves", records=leaves, columns=("leaf_index", "position", "leaf_hash")
    )
    if nodes:
        await conn.copy_records_to_table(
            "merkle_nodes", records=nodes, columns=("level", "idx", "hash")
        )


_CHECKPOINT_COLUMNS = "tree_size, root_hash, key_id, signed_note, issued_at"


def _checkpoint(row: asyncpg.Record | None) -> StoredCheckpoint | None:
    return None if row is None else StoredCheckpoint(**{**dict(row), "root_hash": bytes(row[1])})


async def insert_checkpoint(conn: Conn, checkpoint: StoredCheckpoint) -> None:
    await conn.execute(
        f"INSERT INTO log_checkpoints ({_CHECKPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (tree_size) DO NOTHING",
        checkpoint.tree_size,
        checkpoint.root_hash,
        checkpoint.key_id,
        checkpoint.signed_note,
        checkpoint.issued_at,
    )


async def latest_checkpoint(conn: Conn) -> StoredCheckpoint | None:
    return _checkpoint(
        await conn.fetchrow(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM log_checkpoints ORDER BY tree_size DESC LIMIT 1"
        )
    )


async def checkpoint_at(conn: Conn, tree_size: int) -> StoredCheckpoint | None:
    return _checkpoint(
        await conn.fetchrow(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM log_checkpoints WHERE tree_size = $1", tree_size
        )
    )


async def checkpoints(
    conn: Conn, *, before: int | None, since: datetime | None, limit: int
) -> list[StoredCheckpoint]:
    """Newest first: sizes below ``before``, issued at or after ``since``."""
    rows = await conn.fetch(
        f"SELECT {_CHECKPOINT_COLUMNS} FROM log_checkpoints"
        " WHERE ($1::bigint IS NULL OR tree_size < $1)"
        " AND ($2::timestamptz IS NULL OR issued_at >= $2)"
        " ORDER BY tree_size DESC LIMIT $3",
        before,
        since,
        limit,
    )
    return [c for r in rows if (c := _checkpoint(r)) is not None]


@dataclass(frozen=True, slots=True)
class SealedEntry:
    """A stored event as it is in the event table, with its leaf."""

    record: StoredRecord
    leaf_index: int
    leaf_hash: bytes


async def sealed_entry(conn: Conn, position: int) -> SealedEntry | None:
    """The event at ``position`` if it has been sealed (None if unknown or not sealed yet)."""
    row = await conn.fetchrow(
        "SELECT e.originator_id, e.originator_version, e.topic, e.state,"
        f" l.leaf_index, l.leaf_hash FROM merkle_leaves l JOIN {EVENTS_TABLE} e"
        " ON e.notification_id = l.position WHERE l.position = $1",
        position,
    )
    if row is None:
        return None
    record = StoredRecord(
        row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"]), position
    )
    return SealedEntry(record, row["leaf_index"], bytes(row["leaf_hash"]))
