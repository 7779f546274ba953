"""Ranking cost growth: a supervisor's rankings with 1k vs 50k facts in the quarter.

A township of 10 grids x 50 households (one village), one grid member per grid, the default
quarterly scheme. Visits by the members land in today's quarter (one fact each); with
``GL_SMALL`` (default 1,000) and then ``GL_LARGE`` (default 50,000) visits folded, the three
rankings a supervisor asks for (villages, grids, members) are timed through the HTTP app in
process, ``GL_RANKINGS`` times each (default 20, sequential, after a warm-up). The figure is
the p50 of one ranking at 50k over its p50 at 1k (aim <= 3).

The baseline, measured in the same run, is what a ranking did before it read per-period
totals: every subject scored from its facts (``AssessmentService.assess``, the explanation
path), for the grid ranking's 10 grids, ``GL_BASELINE`` times (default 5).

    .venv/bin/gridledger with-services -- .venv/bin/python bench/assessment_ranking.py
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
from anyio import to_thread
from sync_common import bench_env, open_container, percentile, seed

from backend.app import create_app_for
from backend.bootstrap import Container
from backend.services.assessments import AssessmentService, Subject
from backend.services.auth import auth_service
from events.assessment import DEFAULT_SCHEME_CODE, DEFAULT_SCHEME_INDICATORS, AssessmentScheme
from events.holidays import CHINA_TZ
from events.meta import EventMeta, system_meta
from events.staff import Staff
from events.visit import Visit, VisitFindings

SMALL = int(os.environ.get("GL_SMALL", "1000"))
LARGE = int(os.environ.get("GL_LARGE", "50000"))
RANKINGS = int(os.environ.get("GL_RANKINGS", "20"))
BASELINE = int(os.environ.get("GL_BASELINE", "5"))
LEVELS = ("village", "grid", "member")


async def _fold(container: Container) -> None:
    for name in container.runner.projections:
        await container.runner.catch_up(name)


async def _seed(container: Container) -> Any:
    task = asyncio.create_task(seed(container, grids=10, households_per_grid=50))
    while not task.done():
        await _fold(container)
        await asyncio.sleep(0.05)
    return task.result()


async def _supervisor(container: Container) -> tuple[UUID, str]:
    town = await container.pool.fetchval("SELECT id FROM grid_units WHERE level = 1")
    meta = system_meta("bench")
    scheme = AssessmentScheme.define(
        code=DEFAULT_SCHEME_CODE, period_kind="quarter", label="基准考核",
        indicators=DEFAULT_SCHEME_INDICATORS, effective_from=date(2020, 1, 1), meta=meta,
    )  # fmt: skip
    boss = Staff.appoint(
        name="督导", work_phone="13800000000", role="supervisor", scope_unit_id=town,
        effective_from=date(2026, 1, 1), meta=meta,
    )  # fmt: skip
    await to_thread.run_sync(lambda: container.event_log.save(scheme, boss))
    await _fold(container)
    token = (await auth_service(container).dev_login(boss.id, "bench-supervisor")).access_token
    return town, token


async def _visits(container: Container, town: Any, count: int) -> None:
    """``count`` visits, round robin over the grids' members and households, saved in batches."""
    pairs = [(m, g, h) for m, g in zip(town.members, town.grids, strict=True)
             for h in town.households[g]]  # fmt: skip

    def run() -> None:
        for start in range(0, count, 500):
            batch = []
            for i in range(start, min(count, start + 500)):
                member, grid, home = pairs[i % len(pairs)]
                meta = EventMeta(actor_id=member, role="grid_member", device_id="bench",
                                 client_time=None, scope_unit_ids=(grid,))  # fmt: skip
                batch.append(Visit.record(
                    visit_id=uuid4(), household_id=home, grid_id=grid, purpose="routine",
                    method="in_person", visited_at=datetime.now(UTC),
                    findings=VisitFindings(), meta=meta,
                ))  # fmt: skip
            container.event_log.save(*batch)

    await to_thread.run_sync(run)
    await _fold(container)


async def _ranking_p50(client: httpx.AsyncClient, token: str, period: str, level: str) -> float:
    url = f"/v1/assessments/periods/{period}/rankings"
    params = {"scheme": DEFAULT_SCHEME_CODE, "level": level}
    headers = {"Authorization": f"Bearer {token}"}
    (await client.get(url, params=params, headers=headers)).raise_for_status()  # warm-up
    latencies = []
    for _ in range(RANKINGS):
        started = time.perf_counter()
        response = await client.get(url, params=params, headers=headers)
        response.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    return percentile(latencies, 0.5)


async def _baseline_p50(container: Container, town: Any, period: str) -> float:
    """The grid ranking's scoring as it was: each grid scored from all its facts."""
    service = AssessmentService(container)
    grids = [Subject(kind="unit", id=g, name=str(g), level=3, scope_unit_id=g)
             for g in town.grids]  # fmt: skip
    latencies = []
    for _ in range(BASELINE):
        started = time.perf_counter()
        for grid in grids:
            await service.assess(period, DEFAULT_SCHEME_CODE, grid)
        latencies.append((time.perf_counter() - started) * 1000)
    return percentile(latencies, 0.5)


def _quarter() -> str:
    today = datetime.now(CHINA_TZ).date()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


async def main() -> None:
    env, period = bench_env(), _quarter()
    figures: dict[int, dict[str, float]] = {}
    async with open_container(env) as container:
        town = await _seed(container)
        _, token = await _supervisor(container)
        transport = httpx.ASGITransport(app=create_app_for(container))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            folded = 0
            for size in (SMALL, LARGE):
                await _visits(container, town, size - folded)
                folded = size
                await container.pool.execute("VACUUM ANALYZE")
                figures[size] = {lv: await _ranking_p50(client, token, period, lv) for lv in LEVELS}
                figures[size]["baseline_grid"] = await _baseline_p50(container, town, period)
    _report(figures)


def _report(figures: dict[int, dict[str, float]]) -> None:
    small, large = figures[SMALL], figures[LARGE]
    for name in (*LEVELS, "baseline_grid"):
        growth = large[name] / small[name]
        print(f"{name:>14}: p50 {small[name]:8.1f} ms at {SMALL} facts, "
              f"{large[name]:8.1f} ms at {LARGE} facts, x{growth:.2f}")  # fmt: skip
    worst = max(LEVELS, key=lambda lv: large[lv] / small[lv])
    result = {
        "bench": "assessment_ranking", "facts_small": SMALL, "facts_large": LARGE,
        **{f"{lv}_p50_ms_{k}": round(figures[n][lv], 2) for lv in LEVELS
           for k, n in (("small", SMALL), ("large", LARGE))},
        "worst_level": worst, "ratio": round(large[worst] / small[worst], 2),
        "baseline_grid_p50_ms_small": round(small["baseline_grid"], 1),
        "baseline_grid_p50_ms_large": round(large["baseline_grid"], 1),
        "baseline_ratio": round(large["baseline_grid"] / small["baseline_grid"], 2),
        "aim_ratio": 3,
    }  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
