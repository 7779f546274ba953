"""Pull under load: 200 phones, each with its grid of ~50 households and a few new ops.

A real server process (API + projection workers) on a township of GL_PHONES grids (default
200) of 50 households, one grid member each. Every phone bootstraps once (not timed); then a
few visits land in every grid, and the phones pull concurrently from the cursor they hold, so
each pull carries its few new ops (the cursor is reused each round: a pull only reads). The
peer figure, measured in the same run against the same server with the same concurrency and
tokens, is an empty authenticated endpoint (``GET /v1/me``). Prints a final JSON line: pulls/s,
p50/p99 latency, the empty endpoint's figures and the ratio (aim >= 0.5, p99 <= 50 ms).

    .venv/bin/gridledger with-services -- .venv/bin/python bench/sync_pull.py
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
from sync_common import (
    Township,
    bench_env,
    household,
    keepalive_limits,
    open_container,
    percentile,
    seed,
    server,
    wait_projected,
)

from backend.bootstrap import Container
from events.meta import system_meta
from events.visit import Visit, VisitFindings

PHONES = int(os.environ.get("GL_PHONES", "200"))
ROUNDS = int(os.environ.get("GL_ROUNDS", "5"))
NEW_VISITS = 3  # per grid, with 2 new households: the "few new ops" (visit plan + 2 puts)


def _headers(town: Township, i: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {town.tokens[i]}"}


async def _bootstrap(client: httpx.AsyncClient, town: Township, i: int) -> str:
    cursor: str | None = None
    while True:
        body: dict[str, Any] = {"protocol": 1, "device_id": f"bench-{i}", "limit": 1000}
        if cursor:
            body["cursor"] = cursor
        page = (await client.post("/v1/sync/pull", headers=_headers(town, i), json=body)).json()
        cursor = page["cursor"]
        if not page["has_more"]:
            return str(cursor)


async def _new_ops(container: Container, town: Township) -> None:
    meta = system_meta("bench")

    def run() -> None:
        visits = [
            Visit.record(
                visit_id=uuid4(),
                household_id=town.households[g][k],
                grid_id=g,
                purpose="routine",
                method="in_person",
                visited_at=datetime.now(UTC),
                findings=VisitFindings(),
                meta=meta,
            )
            for g in town.grids
            for k in range(NEW_VISITS)
        ]
        households = [household(g, 1000 + k) for g in town.grids for k in range(2)]
        container.event_log.save(*visits, *households)

    await to_thread.run_sync(run)
    await wait_projected(container)


async def _round(client: httpx.AsyncClient, town: Township, call: Any) -> tuple[float, list[float]]:
    latencies: list[float] = []

    async def one(i: int) -> None:
        started = time.perf_counter()
        response = await call(i)
        response.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(PHONES)))
    return time.perf_counter() - started, latencies


async def _measure(client: httpx.AsyncClient, town: Township, call: Any) -> dict[str, float]:
    await _round(client, town, call)  # warm-up
    seconds, latencies = 0.0, []
    for _ in range(ROUNDS):
        took, lat = await _round(client, town, call)
        seconds, latencies = seconds + took, latencies + lat
    return {
        "per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.5), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
    }


async def main() -> None:
    env = bench_env()
    with server(env) as url:
        async with open_container(env) as container:
            town = await seed(container, grids=PHONES, households_per_grid=50)
            limits = keepalive_limits(PHONES, max_keepalive=PHONES)
            async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
                cursors = [await _bootstrap(client, town, i) for i in range(PHONES)]
                await _new_ops(container, town)

                async def pull(i: int) -> httpx.Response:
                    body = {"protocol": 1, "device_id": f"bench-{i}", "cursor": cursors[i]}
                    return await client.post("/v1/sync/pull", headers=_headers(town, i), json=body)

                async def empty(i: int) -> httpx.Response:
                    return await client.get("/v1/me", headers=_headers(town, i))

                probe = (await pull(0)).json()
                ops = len(probe["ops"])
                pulled = await _measure(client, town, pull)
                baseline = await _measure(client, town, empty)
    print(
        json.dumps(
            {
                "bench": "sync_pull",
                "phones": PHONES,
                "households_per_phone": 50,
                "ops_per_pull": ops,
                "pulls_per_s": pulled["per_s"],
                "pull_p50_ms": pulled["p50_ms"],
                "pull_p99_ms": pulled["p99_ms"],
                "empty_per_s": baseline["per_s"],
                "empty_p50_ms": baseline["p50_ms"],
                "empty_p99_ms": baseline["p99_ms"],
                "ratio": round(pulled["per_s"] / baseline["per_s"], 3),
                "aim_ratio": 0.5,
                "aim_p99_ms": 50,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
