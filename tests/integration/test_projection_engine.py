"""The projection engine on the real database: exactly once, atomic batches, rebuilds that
reproduce the live read models, and one leader per projection."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import httpx
import pytest

from backend.bootstrap import Container
from projections import all_projections
from projections.engine import ProjectionRunner, Recorded
from tests.support.world import World


class CountingProjection:
    """Writes one row per event, keyed by position: applying an event twice would fail."""

    tables: tuple[str, ...] = ("probe_events",)
    ddl = (
        "CREATE TABLE IF NOT EXISTS probe_events (position bigint PRIMARY KEY, topic text NOT NULL)"
    )

    def __init__(self, *, name: str = "probe", fail_at: int | None = None) -> None:
        self.name = name
        self.fail_at = fail_at

    def interested(self, topic: str) -> bool:
        return True

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        for rec in batch:
            await conn.execute("INSERT INTO probe_events VALUES ($1, $2)", rec.position, rec.topic)
            if rec.position == self.fail_at:
                raise RuntimeError("simulated crash inside a batch")


async def _dump(pool: asyncpg.Pool, table: str) -> list[str]:
    """Rows in a canonical order (history tables have no single-column order)."""
    return sorted(repr(tuple(r)) for r in await pool.fetch(f"SELECT * FROM {table}"))


async def test_rebuild_reproduces_every_read_model(
    container: Container, world: World, client: httpx.AsyncClient
) -> None:
    # given read models folded live while the world was built (and any earlier test data)
    await container.runner.wait_for(await container.runner.head())
    before = {
        t: await _dump(container.pool, t)
        for p in container.runner.projections.values()
        for t in p.tables
    }

    # when each projection is rebuilt from zero by a separate runner (as the CLI does)
    rebuilder = ProjectionRunner(
        container.pool, all_projections(container.clock.zone), batch_size=257
    )
    for name in rebuilder.projections:
        with pytest.raises(RuntimeError, match="being folded"):
            await rebuilder.rebuild(name)  # the live worker holds the leader lock
    for name in rebuilder.projections:
        rebuilding = asyncio.create_task(rebuilder.rebuild(name, wait=30))
        await _take_over_from_live_worker(container)
        await rebuilding

    # then the tables hold exactly what they held before
    after = {t: await _dump(container.pool, t) for t in before}
    for table, rows in before.items():
        assert after[table] == rows, table
    assert before["grid_units"], "the world's units are there to compare"
    # and the live worker, its connection killed, reconnected and folds new events again
    renamed = await client.post(
        f"/v1/grid-units/{world.grid_a2}/rename",
        headers=world.headers["admin"],
        json={"name": "改名后的网格"},
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "改名后的网格"


async def test_two_folders_of_one_projection_apply_each_event_once(
    container: Container, world: World
) -> None:
    probe_a = ProjectionRunner(
        container.pool, [CountingProjection(name="probe_twice")], batch_size=50
    )
    probe_b = ProjectionRunner(
        container.pool, [CountingProjection(name="probe_twice")], batch_size=50
    )
    await probe_a.ensure_tables()
    await container.pool.execute("TRUNCATE probe_events")

    await asyncio.gather(probe_a.catch_up("probe_twice"), probe_b.catch_up("probe_twice"))

    head = await container.runner.head()
    count = await container.pool.fetchval("SELECT count(*) FROM probe_events")
    # Positions have gaps (a rolled-back insert still spends its sequence value), so compare
    # with the rows in the log, not with the highest position.
    assert count == await container.pool.fetchval("SELECT count(*) FROM gridledger_events")
    assert (await probe_a.positions())["probe_twice"] == head


async def test_a_failing_batch_changes_neither_the_view_nor_the_position(
    container: Container, world: World
) -> None:
    head = await container.runner.head()
    # one batch holds the whole log, whatever earlier modules wrote (the demo seeds thousands)
    crashing = ProjectionRunner(
        container.pool, [CountingProjection(name="probe_crash", fail_at=head)], batch_size=head
    )
    await crashing.ensure_tables()
    await container.pool.execute("TRUNCATE probe_events")

    with pytest.raises(RuntimeError, match="simulated crash"):
        await crashing.catch_up("probe_crash")

    assert await container.pool.fetchval("SELECT count(*) FROM probe_events") == 0
    assert (await crashing.positions())["probe_crash"] == 0


async def _take_over_from_live_worker(container: Container) -> None:
    """Once the rebuilder waits for a leader lock, end the sessions holding leader locks:
    exactly what a crashed worker looks like. The queued rebuilder gets the lock first."""
    for _ in range(200):
        waiting = await container.pool.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        )
        if waiting:
            break
        await asyncio.sleep(0.01)
    await container.pool.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
        "AND granted AND pid <> pg_backend_pid() AND pid IN (SELECT l.pid FROM pg_locks l "
        "WHERE l.locktype = 'advisory' AND l.granted AND (l.classid, l.objid) IN (SELECT "
        "w.classid, w.objid FROM pg_locks w WHERE w.locktype = 'advisory' AND NOT w.granted))"
    )


async def test_a_projection_stuck_on_an_event_is_reported_and_not_waited_for(
    container: Container, world: World
) -> None:
    # given a projection that cannot fold the newest event
    head = await container.runner.head()
    runner = ProjectionRunner(
        container.pool, [CountingProjection(name="probe_poison", fail_at=head)], batch_size=head
    )
    await runner.ensure_tables()
    await container.pool.execute("TRUNCATE probe_events")

    # when its worker tries
    await runner._catch_up_logged("probe_poison")

    # then it stays before the event, says why, and writers do not wait for it
    assert (await runner.positions())["probe_poison"] == 0
    assert (await runner.failing())["probe_poison"].startswith("RuntimeError: simulated crash")
    assert await runner.wait_for(head, timeout=1.0) is True
