"""Stories of the sealer: every stored event becomes a leaf, in log order, with contiguous leaf
numbers even where positions skip; roots and proofs agree with an independent recomputation
from the event table; checkpoints are signed, due by leaves or time, and survive key rotation."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from backend.bootstrap import Container
from backend.services.audit_log import key_ring
from backend.workers import sealer
from backend.workers.sealer import LOCK_KEY, SealPolicy, policy_for, seal, seal_locked
from storage.eventstore import EVENTS_TABLE
from storage.merkle import (
    MemoryTree,
    StoredRecord,
    record_leaf_hash,
    root_hash,
    verify_consistency,
)
from storage.merkle_store import latest_checkpoint
from storage.signed_note import KeyRing, Signer, open_note, parse_checkpoint
from tests.support.households import household_body, register
from tests.support.world import World

Client = httpx.AsyncClient


async def stored_leaves(container: Container) -> list[bytes]:
    """Leaf hashes recomputed from the event table alone (not from the sealer's tables)."""
    rows = await container.pool.fetch(
        "SELECT notification_id, originator_id, originator_version, topic, state "
        f"FROM {EVENTS_TABLE} ORDER BY notification_id"
    )
    return [record_leaf_hash(StoredRecord(r[1], r[2], r[3], bytes(r[4]), r[0])) for r in rows]


async def add_household(client: Client, world: World) -> None:
    await register(client, world.headers["admin"], household_body(world.grid_a1))


async def test_given_stored_events_when_sealed_then_every_event_is_a_leaf_in_log_order(
    container: Container, world: World
) -> None:
    report = await seal(container, wait=True, force_checkpoint=True)
    assert report is not None
    leaves = await container.pool.fetch(
        "SELECT leaf_index, position, leaf_hash FROM merkle_leaves ORDER BY leaf_index"
    )
    positions = [r[0] for r in await container.pool.fetch(
        f"SELECT notification_id FROM {EVENTS_TABLE} ORDER BY notification_id"
    )]  # fmt: skip
    assert [r["leaf_index"] for r in leaves] == list(range(len(positions)))
    assert [r["position"] for r in leaves] == positions
    assert [bytes(r["leaf_hash"]) for r in leaves] == await stored_leaves(container)
    latest = await latest_checkpoint(container.pool)
    assert latest is not None
    assert latest.tree_size == report.tree_size == len(positions)
    assert latest.root_hash == root_hash(await stored_leaves(container))


async def test_the_checkpoint_is_a_signed_note_of_origin_size_root_and_time(
    container: Container, world: World
) -> None:
    await seal(container, wait=True, force_checkpoint=True)
    latest = await latest_checkpoint(container.pool)
    assert latest is not None
    note = open_note(latest.signed_note, key_ring(container).verifiers)
    body = parse_checkpoint(note.text)
    assert body.origin == container.settings.log_origin
    assert (body.size, body.root_hash) == (latest.tree_size, latest.root_hash)
    assert body.extensions == (f"time {latest.issued_at.strftime('%Y-%m-%dT%H:%M:%SZ')}",)
    assert latest.key_id == f"{key_ring(container).active.key_id:08x}"


async def test_given_new_events_when_sealed_again_then_the_tree_grows_consistently(
    container: Container, world: World, client: Client
) -> None:
    policy = policy_for(container)
    # Holding the lock keeps the background sealer from sealing the new events first.
    conn = await held_sealer_lock(container)
    try:
        await seal_locked(conn, policy, force_checkpoint=True)
        before = await latest_checkpoint(conn)
        await add_household(client, world)
        report = await seal_locked(conn, policy, force_checkpoint=True)
        after = await latest_checkpoint(conn)
        again = await seal_locked(conn, policy)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        await container.pool.release(conn)
    assert before is not None
    assert after is not None
    assert report.sealed >= 1
    assert after.tree_size == before.tree_size + report.sealed
    tree = MemoryTree(await stored_leaves(container))
    proof = tree.consistency_proof(before.tree_size, after.tree_size)
    verify_consistency(before.tree_size, after.tree_size, before.root_hash, after.root_hash, proof)
    assert again.sealed == 0


async def test_given_a_gap_in_positions_then_leaf_numbers_stay_contiguous(
    container: Container, world: World, client: Client
) -> None:
    await seal(container, wait=True)
    # A rolled-back insert burns a position: take one from the sequence without an event.
    await container.pool.fetchval(
        f"SELECT nextval(pg_get_serial_sequence('{EVENTS_TABLE}', 'notification_id'))"
    )
    await add_household(client, world)
    await seal(container, wait=True)
    rows = await container.pool.fetch(
        "SELECT leaf_index, position FROM merkle_leaves ORDER BY leaf_index DESC LIMIT 2"
    )
    assert rows[0]["leaf_index"] == rows[1]["leaf_index"] + 1
    assert rows[0]["position"] >= rows[1]["position"] + 2
    total = await container.pool.fetchval(f"SELECT count(*) FROM {EVENTS_TABLE}")
    assert rows[0]["leaf_index"] == total - 1


async def held_sealer_lock(container: Container) -> asyncpg.pool.PoolConnectionProxy:
    conn = await container.pool.acquire()
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    return conn


async def test_checkpoints_fall_due_every_n_leaves_and_after_t_seconds(
    container: Container, world: World, client: Client
) -> None:
    await seal(container, wait=True, force_checkpoint=True)
    conn = await held_sealer_lock(container)
    try:
        for _ in range(3):
            await add_household(client, world)
        start = await latest_checkpoint(conn)
        assert start is not None
        base = policy_for(container)
        every_two = SealPolicy(origin=base.origin, ring=base.ring, every_leaves=2, batch_size=2)
        report = await seal_locked(conn, every_two)
        sizes = [s - start.tree_size for s in report.checkpoints]
        assert sizes
        assert all(size % 2 == 0 for size in sizes)
        await add_household(client, world)
        patient = SealPolicy(origin=base.origin, ring=base.ring, every_leaves=10**6)
        assert (await seal_locked(conn, patient)).checkpoints == []
        hasty = SealPolicy(
            origin=base.origin, ring=base.ring, every_leaves=10**6, every_seconds=0.0
        )
        assert (await seal_locked(conn, hasty)).checkpoints
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        await container.pool.release(conn)


async def test_given_a_rotated_key_then_old_and_new_checkpoints_both_verify(
    container: Container, world: World, client: Client
) -> None:
    await seal(container, wait=True, force_checkpoint=True)
    old = await latest_checkpoint(container.pool)
    assert old is not None
    ring = key_ring(container)
    rotated = KeyRing([*ring.signers, Signer.generate(ring.active.name)], active=-1)
    conn = await held_sealer_lock(container)
    try:
        await add_household(client, world)
        policy = SealPolicy(origin=container.settings.log_origin, ring=rotated, every_leaves=1)
        await seal_locked(conn, policy)
        new = await latest_checkpoint(conn)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        await container.pool.release(conn)
    assert new is not None
    assert new.key_id == f"{rotated.active.key_id:08x}" != old.key_id
    for cp in (old, new):
        rotated.open_checkpoint(cp.signed_note)


async def test_a_racing_second_sealer_is_refused_and_the_tree_stays_whole(
    container: Container, world: World, client: Client
) -> None:
    policy = policy_for(container)
    # given a leader holding the lock (the background sealer stands aside until it is released,
    # so the race below happens in this order every time, whatever the machine's load)
    leader = await held_sealer_lock(container)
    try:
        await add_household(client, world)
        async with container.pool.acquire() as other:
            stale = await sealer._load(other)  # a former leader that lost its lock unnoticed
            # when the leader seals the new events and the stale one then appends them too
            won = await seal_locked(leader, policy)
            rows = await other.fetch(sealer._SELECT, stale.last_position, policy.batch_size)
            # then the stale sealer's batch is refused
            with pytest.raises(asyncpg.UniqueViolationError):
                async with other.transaction():
                    await sealer._append(other, stale, rows)
    finally:
        await leader.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        await container.pool.release(leader)
    assert won.sealed == len(rows) >= 1
    # and the tree is exactly the log, once each
    leaves = await container.pool.fetch("SELECT leaf_hash FROM merkle_leaves ORDER BY leaf_index")
    assert [bytes(r[0]) for r in leaves] == await stored_leaves(container)


async def test_given_a_sealed_tail_when_zero_rows_are_appended_then_nothing_changes(
    container: Container, world: World
) -> None:
    # given a sealer that read the tail of a fully sealed log
    conn = await held_sealer_lock(container)
    try:
        tree = await sealer._load(conn)
        before = (tree.frontier.size, tree.frontier.root(), tree.last_position)
        # when it appends an empty batch (another sealer had already sealed what it fetched)
        async with conn.transaction():
            await sealer._append(conn, tree, [])
        # then neither its tree nor the stored tree moved
        assert (tree.frontier.size, tree.frontier.root(), tree.last_position) == before
        assert (await sealer._load(conn)).frontier.size == before[0]
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        await container.pool.release(conn)


@pytest.fixture(autouse=True)
async def _settled(container: Container) -> None:
    """Each story starts from a fully sealed log (the background sealer may be mid-tick)."""
    await seal(container, wait=True)
