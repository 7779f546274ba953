"""Push throughput: visits through ``POST /v1/sync/push`` vs raw batched ``save()``.

A few phones (GL_PHONES, default 4) push concurrently, each GL_BATCHES batches (default 10) of
GL_BATCH visits (default 100) to households of its own grid, against a real server process
(API + projection workers). The peer figure, measured in the same run on the same database, is
the library's own batched ``save()`` of the same number of visits (same batch size, no HTTP,
no receipts, no checks). Prints a final JSON line with both and their ratio (aim >= 0.6).

    .venv/bin/gridledger with-services -- .venv/bin/python bench/sync_push.py
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, datetime
from uuid import UUID, uuid4

import httpx
from anyio import to_thread
from sync_common import (
    Township,
    bench_env,
    keepalive_limits,
    now_iso,
    open_container,
    seed,
    server,
)

from backend.bootstrap import Container
from events.meta import system_meta
from events.visit import Visit, VisitFindings

PHONES = int(os.environ.get("GL_PHONES", "4"))
BATCHES = int(os.environ.get("GL_BATCHES", "10"))
BATCH = int(os.environ.get("GL_BATCH", "100"))


def _event(household_id: UUID, seq: int) -> dict[str, object]:
    return {
        "event_id": str(uuid4()),
        "device_seq": seq,
        "type": "visit.recorded",
        "captured_at": now_iso(),
        "payload": {
            "household_id": str(household_id),
            "purpose": "routine",
            "method": "in_person",
            "visited_at": now_iso(),
        },
    }


async def _phone(client: httpx.AsyncClient, town: Township, i: int) -> int:
    households = town.households[town.grids[i]]
    headers = {"Authorization": f"Bearer {town.tokens[i]}"}
    accepted = 0
    for b in range(BATCHES):
        events = [
            _event(households[(b * BATCH + k) % len(households)], b * BATCH + k)
            for k in range(BATCH)
        ]
        body = {
            "protocol": 1,
            "device_id": f"bench-{i}",
            "device_clock": now_iso(),
            "events": events,
        }
        response = await client.post("/v1/sync/push", headers=headers, json=body, timeout=120)
        response.raise_for_status()
        accepted += sum(r["status"] == "accepted" for r in response.json()["results"])
    return accepted


async def _http(url: str, town: Township) -> tuple[float, int]:
    async with httpx.AsyncClient(base_url=url, limits=keepalive_limits(100)) as client:
        started = time.perf_counter()
        counts = await asyncio.gather(*(_phone(client, town, i) for i in range(PHONES)))
        return time.perf_counter() - started, sum(counts)


async def _raw(container: Container, town: Township) -> float:
    meta = system_meta("bench-raw")

    def batch(i: int) -> list[Visit]:
        households = town.households[town.grids[i]]
        return [
            Visit.record(
                visit_id=uuid4(),
                household_id=households[k % len(households)],
                grid_id=town.grids[i],
                purpose="routine",
                method="in_person",
                visited_at=datetime.now(UTC),
                findings=VisitFindings(),
                meta=meta,
            )
            for k in range(BATCH)
        ]

    def run() -> float:
        batches = [batch(i) for i in range(PHONES) for _ in range(BATCHES)]
        started = time.perf_counter()
        for visits in batches:
            container.event_log.save(*visits)
        return time.perf_counter() - started

    return await to_thread.run_sync(run)


async def main() -> None:
    env = bench_env()
    with server(env) as url:
        async with open_container(env) as container:
            town = await seed(container, grids=PHONES, households_per_grid=50)
            http_s, accepted = await _http(url, town)
            raw_s = await _raw(container, town)
    total = PHONES * BATCHES * BATCH
    assert accepted == total, f"only {accepted} of {total} accepted"
    push_rate, raw_rate = total / http_s, total / raw_s
    print(
        json.dumps(
            {
                "bench": "sync_push",
                "events": total,
                "phones": PHONES,
                "batch": BATCH,
                "push_events_per_s": round(push_rate, 1),
                "raw_save_events_per_s": round(raw_rate, 1),
                "ratio": round(push_rate / raw_rate, 3),
                "aim_ratio": 0.6,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
