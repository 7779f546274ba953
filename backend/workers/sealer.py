"""The sealer: every stored event, in log order, becomes a leaf of the evidence Merkle tree.

Leaves get contiguous numbers 0, 1, 2 … in position order; positions themselves may skip
(a rolled-back insert burns a sequence value), so ``merkle_leaves`` maps one to the other. The
library inserts events under an exclusive table lock, so commit order is position order and a
cursor over positions never passes an event that commits late (see projections/engine.py).

One sealer at a time: each tick takes an advisory lock, reloads the tree's frontier (the
O(log n) perfect subtrees covering it) and appends batches — the leaves, the perfect subtrees
they complete, and a checkpoint when due — one transaction per batch. Should two sealers ever
race, the primary keys refuse the second one's batch; nothing is written twice or skipped.

A checkpoint is signed (C2SP signed note, Ed25519) every ``checkpoint_every_leaves`` new leaves,
or after ``checkpoint_seconds`` if anything new was sealed, and always for the very first tree.
Its body carries the origin, size and root, plus the issue time as an extension line.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from backend.bootstrap import Container
from backend.services.audit_log import key_ring
from storage.eventstore import EVENTS_TABLE
from storage.merkle import Frontier, column_leaf_hash
from storage.merkle_store import (
    StoredCheckpoint,
    append_sealed,
    fetch_nodes,
    insert_checkpoint,
    latest_checkpoint,
    sealed_tail,
)
from storage.signed_note import Checkpoint, KeyRing

__all__ = ["LOCK_KEY", "SealPolicy", "SealReport", "run_forever", "seal", "seal_locked"]

log = logging.getLogger(__name__)
LOCK_KEY = int.from_bytes(hashlib.sha256(b"worker:sealer").digest()[:7], "big")
DEFAULT_INTERVAL = 0.5
_SELECT = (
    "SELECT notification_id, originator_id, originator_version, topic, state "
    f"FROM {EVENTS_TABLE} WHERE notification_id > $1 ORDER BY notification_id LIMIT $2"
)


@dataclass(frozen=True, kw_only=True)
class SealPolicy:
    origin: str
    ring: KeyRing
    every_leaves: int = 1000
    every_seconds: float = 60.0
    batch_size: int = 5000


@dataclass
class SealReport:
    sealed: int = 0
    tree_size: int = 0
    checkpoints: list[int] = field(default_factory=list)


@dataclass
class _Tree:
    frontier: Frontier
    last_position: int
    last_checkpoint: StoredCheckpoint | None


def policy_for(container: Container) -> SealPolicy:
    s = container.settings
    return SealPolicy(
        origin=s.log_origin,
        ring=key_ring(container),
        every_leaves=max(1, s.checkpoint_every_leaves),
        every_seconds=max(0.0, s.checkpoint_seconds),
    )


async def seal(
    container: Container, *, wait: bool = False, force_checkpoint: bool = False
) -> SealReport | None:
    """Seal everything stored so far, as the sealer leader; None if another process holds the
    lead (``wait=True`` queues behind it instead, then seals what it left)."""
    policy = policy_for(container)
    async with container.pool.acquire() as conn:
        if wait:
            await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        elif not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
            return None
        try:
            return await seal_locked(conn, policy, force_checkpoint=force_checkpoint)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)


async def seal_locked(
    conn: asyncpg.Connection, policy: SealPolicy, *, force_checkpoint: bool = False
) -> SealReport:
    """Append every unsealed event; the caller holds the sealer lock."""
    tree = await _load(conn)
    report = SealReport(tree_size=tree.frontier.size)
    while rows := await conn.fetch(_SELECT, tree.last_position, policy.batch_size):
        async with conn.transaction():
            await _append(conn, tree, rows)
            report.sealed += len(rows)
            if _due(tree, policy, by_time=False):
                await _checkpoint(conn, tree, policy, report)
    if _due(tree, policy, by_time=True) or (force_checkpoint and _behind(tree)):
        await _checkpoint(conn, tree, policy, report)
    report.tree_size = tree.frontier.size
    return report


async def _load(conn: asyncpg.Connection) -> _Tree:
    tail = await sealed_tail(conn)
    ids = Frontier.nodes_for(tail.size)
    nodes = await fetch_nodes(conn, ids)
    frontier = Frontier(tail.size, [nodes[n] for n in ids])
    return _Tree(frontier, tail.last_position, await latest_checkpoint(conn))


async def _append(conn: asyncpg.Connection, tree: _Tree, rows: list[asyncpg.Record]) -> None:
    if not rows:
        return  # nothing new since the tail was read (another sealer got there first)
    leaves: list[tuple[int, int, bytes]] = []
    nodes: list[tuple[int, int, bytes]] = []
    frontier = tree.frontier
    for position, originator_id, version, topic, state in rows:
        completed = frontier.append(
            column_leaf_hash(originator_id, version, topic, state, position)
        )
        leaves.append((frontier.size - 1, position, completed[0][2]))
        if len(completed) > 1:
            nodes.extend(completed[1:])
    await append_sealed(conn, leaves, nodes)
    tree.last_position = rows[-1][0]


def _behind(tree: _Tree) -> bool:
    last = tree.last_checkpoint
    return last is None or tree.frontier.size > last.tree_size


def _due(tree: _Tree, policy: SealPolicy, *, by_time: bool) -> bool:
    last = tree.last_checkpoint
    if last is None:
        return True  # the first checkpoint, even of the empty tree, is published at once
    new = tree.frontier.size - last.tree_size
    if new >= policy.every_leaves:
        return True
    age = (datetime.now(UTC) - last.issued_at).total_seconds()
    return by_time and new > 0 and age >= policy.every_seconds


async def _checkpoint(
    conn: asyncpg.Connection, tree: _Tree, policy: SealPolicy, report: SealReport
) -> None:
    # Whole seconds: the signed time and the stored issued_at are the same instant.
    now = datetime.now(UTC).replace(microsecond=0)
    body = Checkpoint(
        policy.origin,
        tree.frontier.size,
        tree.frontier.root(),
        (f"time {now.strftime('%Y-%m-%dT%H:%M:%SZ')}",),
    )
    signer = policy.ring.active
    stored = StoredCheckpoint(
        body.size, body.root_hash, f"{signer.key_id:08x}", policy.ring.sign_checkpoint(body), now
    )
    await insert_checkpoint(conn, stored)
    tree.last_checkpoint = stored
    report.checkpoints.append(stored.tree_size)


async def run_forever(
    container: Container, stop: asyncio.Event, *, interval: float = DEFAULT_INTERVAL
) -> None:
    """Seal every ``interval`` seconds until ``stop`` is set; never dies on an error."""
    while not stop.is_set():
        try:
            report = await seal(container)
            if report and report.checkpoints:
                log.info("sealer: %s", report)
        except Exception:
            # A lost session, a racing sealer or a bad key file must not end the worker: the
            # batch rolled back, the tail is re-read next tick, nothing is lost or repeated.
            log.exception("sealer tick failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
