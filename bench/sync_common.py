"""Shared set-up of the sync benchmarks: a township seeded straight through the library, a real
API server in its own process on the same PostgreSQL + S3, and tokens for its grid members.

Run the benches under ``gridledger with-services`` (throwaway PostgreSQL + S3):

    .venv/bin/gridledger with-services -- .venv/bin/python bench/sync_push.py
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID, uuid4

import httpx
from anyio import to_thread

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.bootstrap import Container, container_lifespan  # noqa: E402
from backend.services.auth import auth_service  # noqa: E402
from backend.settings import load_settings  # noqa: E402
from events.grid import GridUnit  # noqa: E402
from events.household import Household  # noqa: E402
from events.household_fields import PersonRecord  # noqa: E402
from events.meta import system_meta  # noqa: E402
from events.staff import Staff  # noqa: E402
from storage.embedded import free_port  # noqa: E402

GRIDLEDGER = str(Path(sys.executable).parent / "gridledger")
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the figures
_EPOCH = date(2026, 1, 1)


@dataclass
class Township:
    grids: list[UUID]
    members: list[UUID]
    households: dict[UUID, list[UUID]] = field(default_factory=dict)  # grid -> households
    tokens: list[str] = field(default_factory=list)  # one per member, device f"bench-{i}"


def keepalive_limits(max_connections: int, *, max_keepalive: int = 20) -> httpx.Limits:
    """Client pool limits whose idle connections expire before the server closes them.

    uvicorn closes a keep-alive connection idle for 5 s (its default ``timeout_keep_alive``);
    httpx's default idle expiry is also 5 s, so a request sent at that instant may go out on a
    connection the server is closing: an ``httpx.ReadError`` of the client, not a server error
    (a real phone's ``wx.request`` retries). Expiring idle connections after 3 s avoids it.
    """
    return httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_keepalive,
        keepalive_expiry=3.0,
    )


def bench_env() -> dict[str, str]:
    if not os.environ.get("DATABASE_URL") or not os.environ.get("S3_ENDPOINT"):
        sys.exit("run under: .venv/bin/gridledger with-services -- .venv/bin/python bench/...")
    var_dir = tempfile.mkdtemp(prefix="gl-bench-")
    atexit.register(shutil.rmtree, var_dir, ignore_errors=True)
    # One token secret for this process (which mints the tokens) and the server (checks them).
    return {
        **os.environ,
        "GRIDLEDGER_TOKEN_SECRET": "bench-" + uuid4().hex,
        "GRIDLEDGER_OPENID_PEPPER": "bench",
        "GRIDLEDGER_VAR_DIR": var_dir,
    }


@contextlib.asynccontextmanager
async def open_container(env: dict[str, str]) -> AsyncIterator[Container]:
    settings = load_settings(env)
    assert settings.database_url is not None
    assert settings.s3_endpoint is not None
    async with container_lifespan(
        settings,
        database_url=settings.database_url,
        s3_endpoint=settings.s3_endpoint,
        run_workers=False,
    ) as container:
        yield container


@contextlib.contextmanager
def server(
    env: dict[str, str],
    *,
    command: Sequence[str] = (GRIDLEDGER, "serve"),
    port: int | None = None,
    timeout: float = 120.0,
) -> Iterator[str]:
    """``command --port PORT`` (by default ``gridledger serve``: API + projection workers) in
    its own process; yields its URL once ``/health`` answers."""
    port = port or free_port()
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        else:
            raise RuntimeError(f"{command[-1]} did not start in {timeout:.0f} s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _units(grids: int) -> list[GridUnit]:
    meta = system_meta("bench")
    town_code = f"{random.randrange(10**8, 10**9)}000"
    town = GridUnit.create(
        code=town_code,
        name="基准镇",
        level=1,
        parent_id=None,
        parent_level=None,
        parent_code=None,
        effective_from=_EPOCH,
        meta=meta,
    )
    village = GridUnit.create(
        code=town_code[:9] + "201",
        name="基准村",
        level=2,
        parent_id=town.id,
        parent_level=1,
        parent_code=town.code,
        effective_from=_EPOCH,
        meta=meta,
    )
    return [town, village] + [
        GridUnit.create(
            code=f"{village.code}{i:03d}",
            name=f"第{i}网格",
            level=3,
            parent_id=village.id,
            parent_level=2,
            parent_code=village.code,
            effective_from=_EPOCH,
            meta=meta,
        )
        for i in range(1, grids + 1)
    ]


def household(grid_id: UUID, n: int) -> Household:
    head = PersonRecord(
        person_id=uuid4(),
        name=f"户主{n}",
        gender="male",
        birth_date=None,
        id_number=None,
        phone="13800001111",
        relation="户主",
    )
    return Household.register(
        household_no=f"B{uuid4().hex[:10]}",
        grid_id=grid_id,
        address=f"基准村{n}号",
        phone=None,
        persons=(head,),
        effective_from=_EPOCH,
        meta=system_meta("bench"),
    )


async def seed(container: Container, *, grids: int, households_per_grid: int) -> Township:
    """Grids with one grid member each and their households, saved in batches."""

    def run() -> Township:
        units = _units(grids)
        meta = system_meta("bench")
        members = [
            Staff.appoint(
                name=f"网格员{i}",
                work_phone="13800000000",
                role="grid_member",
                scope_unit_id=g.id,
                effective_from=_EPOCH,
                meta=meta,
            )
            for i, g in enumerate(units[2:])
        ]
        container.event_log.save(*units, *members)
        town = Township(grids=[u.id for u in units[2:]], members=[m.id for m in members])
        for grid in town.grids:
            batch = [household(grid, n) for n in range(households_per_grid)]
            container.event_log.save(*batch)
            town.households[grid] = [h.id for h in batch]
        return town

    town = await to_thread.run_sync(run)
    await wait_projected(container)
    auth = auth_service(container)
    for i, member in enumerate(town.members):
        town.tokens.append((await auth.dev_login(member, f"bench-{i}")).access_token)
    return town


async def wait_projected(container: Container, *, timeout: float = 600) -> None:
    """Until every projection (folded by the server process) has reached the log's head."""
    head = await container.runner.head()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        low = await container.pool.fetchval("SELECT min(position) FROM projection_positions")
        if low is not None and low >= head:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("projections did not catch up")


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
