"""Pull cost growth: one phone's incremental pull with 100k vs 1M events in the log.

A township of 20 grids x 50 households; grid member 0 bootstraps, a few ops land in its grid,
and its pull from that cursor (5 ops) is timed GL_PULLS times (default 300, sequential) through
the HTTP app in process — once with the log padded to 100k events, once to 1M.

Padding: rows are appended straight to the event table with a topic no read model folds, and
each projection's position is moved past them (what folding them would do); the sync feed gets
one row per 10 padded events, spread over 2,000 other buckets, so the feed grows with the log
as a county's would. The figure is the 1M p50 over the 100k p50 (aim <= 1.2).

    .venv/bin/gridledger with-services -- .venv/bin/python bench/pull_cost_growth.py
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
from anyio import to_thread
from sync_common import bench_env, household, open_container, percentile, seed

from backend.app import create_app_for
from backend.bootstrap import Container
from events.meta import system_meta
from events.visit import Visit, VisitFindings
from storage.eventstore import EVENTS_TABLE

PULLS = int(os.environ.get("GL_PULLS", "300"))


async def _fold(container: Container) -> None:
    for name in container.runner.projections:
        await container.runner.catch_up(name)


async def _pad_to(container: Container, total: int) -> None:
    head = await container.runner.head()
    missing = total - head
    if missing <= 0:
        return
    async with container.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state) "
            "SELECT gen_random_uuid(), 1, 'bench.filler:Filler', '\\x7b7d'::bytea "
            "FROM generate_series(1, $1)",
            missing,
        )
        await conn.execute(
            "INSERT INTO sync_feed (bucket, kind, id, op, seq, changed_at) SELECT "
            "'unit:filler-' || (g % 2000), 'household', gen_random_uuid()::text, 'put', "
            "$1 + g * 10, now() FROM generate_series(1, $2) AS g",
            head,
            missing // 10,
        )
        await conn.execute(
            f"UPDATE projection_positions SET position = (SELECT max(notification_id) "
            f"FROM {EVENTS_TABLE})"
        )
    # Let the bulk insert's background work (statistics, dirty pages) settle before timing.
    await container.pool.execute("VACUUM ANALYZE sync_feed")
    await container.pool.execute("CHECKPOINT")


async def _new_ops(container: Container, grid: Any, households: list[Any]) -> None:
    meta = system_meta("bench")

    def run() -> None:
        visits = [
            Visit.record(
                visit_id=uuid4(),
                household_id=h,
                grid_id=grid,
                purpose="routine",
                method="in_person",
                visited_at=datetime.now(UTC),
                findings=VisitFindings(),
                meta=meta,
            )
            for h in households[:3]
        ]
        container.event_log.save(*visits, *(household(grid, 2000 + k) for k in range(4)))

    await to_thread.run_sync(run)
    await _fold(container)


async def _timed(client: httpx.AsyncClient, body: dict[str, Any], token: str) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(PULLS // 10):  # warm-up, not timed
        (await client.post("/v1/sync/pull", headers=headers, json=body)).raise_for_status()
    latencies = []
    for _ in range(PULLS):
        started = time.perf_counter()
        response = await client.post("/v1/sync/pull", headers=headers, json=body)
        response.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    return percentile(latencies, 0.5)


async def main() -> None:
    env = bench_env()
    async with open_container(env) as container:
        town = await _seed(container)
        transport = httpx.ASGITransport(app=create_app_for(container))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            body: dict[str, Any] = {"protocol": 1, "device_id": "bench-0", "limit": 1000}
            token = town.tokens[0]
            while True:
                page = (
                    await client.post(
                        "/v1/sync/pull", json=body, headers={"Authorization": f"Bearer {token}"}
                    )
                ).json()
                body["cursor"] = page["cursor"]
                if not page["has_more"]:
                    break
            await _new_ops(container, town.grids[0], town.households[town.grids[0]])
            figures = {}
            for total in (100_000, 1_000_000):
                await _pad_to(container, total)
                figures[total] = await _timed(client, body, token)
    print(
        json.dumps(
            {
                "bench": "pull_cost_growth",
                "pulls": PULLS,
                "p50_ms_100k": round(figures[100_000], 3),
                "p50_ms_1m": round(figures[1_000_000], 3),
                "ratio": round(figures[1_000_000] / figures[100_000], 3),
                "aim_ratio": 1.2,
            }
        )
    )


async def _seed(container: Container) -> Any:
    # seed() waits for a server to fold; here this process folds itself.
    task = asyncio.create_task(seed(container, grids=20, households_per_grid=50))
    while not task.done():
        await _fold(container)
        await asyncio.sleep(0.05)
    return task.result()


if __name__ == "__main__":
    asyncio.run(main())
