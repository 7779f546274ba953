"""Jepsen-style: phones sync through a faulty network while the server, PostgreSQL and S3 are
killed and restarted; afterwards nothing accepted is lost or doubled, every read model equals a
rebuild, every phone holds what a fresh pull gives, and every photo is stored or still queued.

Short mode (the test command): 8 phones, ~25 events each, one of each restart. Long mode, for
manual runs (docs/fault-injection.md): ``GRIDLEDGER_FAULT_MINUTES=10`` keeps capturing and
restarting for that long with ``GRIDLEDGER_FAULT_PHONES`` phones (default 16).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from anyio import to_thread

from tests.support import fault_checks as checks
from tests.support.cluster import Cluster, Township
from tests.support.fault_proxy import FaultProxy
from tests.support.phone import Phone, PhoneGaveUp
from tests.unit.storage.test_images import JFIF, PIXELS, jpeg, segment

pytestmark = [pytest.mark.faults, pytest.mark.timeout(3600)]

MINUTES = float(os.environ.get("GRIDLEDGER_FAULT_MINUTES", "0"))
LONG = MINUTES > 0
SEED = int(os.environ.get("GRIDLEDGER_FAULT_SEED", "7"))
GRIDS = 4
PHONES_PER_GRID = int(os.environ.get("GRIDLEDGER_FAULT_PHONES", "16")) // GRIDS if LONG else 2
WAVE = 5  # events a phone captures offline before it next finds signal
MIN_WAVES = 5
PAUSE_S = (2.0, 8.0) if LONG else (0.5, 2.0)  # between a phone's syncs (long: gentler pace)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    built = Cluster.in_tempdir()
    try:
        yield built
    finally:
        built.close()


@dataclass
class Run:
    cluster: Cluster
    proxy: FaultProxy
    town: Township
    phones: list[Phone]
    chaos_done: asyncio.Event


def photo() -> bytes:
    return jpeg(JFIF, segment(0xFE, uuid.uuid4().bytes), PIXELS)


def capture_wave(phone: Phone, grid: uuid.UUID, town: Township) -> None:
    """A mix of field work: visits (some with photos), case reports, household edits and
    registrations, against what the phone last pulled."""
    homes = town.households[grid]
    for _ in range(WAVE):
        roll, home = phone.rng.random(), str(phone.rng.choice(homes))
        pics = (photo(),) if phone.rng.random() < 0.4 else ()
        if roll < 0.5:
            phone.capture("visit.recorded", _visit(home, pics), photos=pics)
        elif roll < 0.7:
            phone.capture("case.reported", _case(home, pics), photos=pics)
        elif roll < 0.9:
            row = next((r for r in phone.rows_of("household") if r["id"] == home), None)
            change = {"path": "notes", "value": f"{phone.name} {phone.rng.random():.6f}"}
            payload = {"household_id": home, "changes": [change]}
            version = row["version"] if row else 1
            phone.capture("household.edited", payload, base_version=version)
        else:
            phone.capture("household.registered", _new_household(grid))


def _visit(home: str, pics: tuple[bytes, ...]) -> dict[str, Any]:
    return {
        "household_id": home, "purpose": "routine", "method": "in_person",
        "visited_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "findings": {"food_clothing": "ok"}, "photos": [_sha(p) for p in pics],
    }  # fmt: skip


def _case(home: str, pics: tuple[bytes, ...]) -> dict[str, Any]:
    return {
        "category": "sanitation", "title": "垃圾未清运", "description": "路边堆放三天",
        "location": "村口", "household_id": home, "photos": [_sha(p) for p in pics],
    }  # fmt: skip


def _new_household(grid: uuid.UUID) -> dict[str, Any]:
    return {
        "household_no": f"FN-{uuid.uuid4().hex[:12]}", "grid_id": str(grid),
        "address": "故障村新户",
        "persons": [{"name": "李新", "relation": "户主", "gender": "female"}],
    }  # fmt: skip


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


async def phone_life(run: Run, phone: Phone, grid: uuid.UUID, deadline: float) -> None:
    """Capture offline, find signal, sync; again, until the chaos is over."""
    waves = 0
    while waves < MIN_WAVES or not run.chaos_done.is_set():
        capture_wave(phone, grid, run.town)
        waves += 1
        await phone.sync_until_done(deadline=deadline)
        await asyncio.sleep(phone.rng.uniform(*PAUSE_S))


async def chaos(run: Run) -> None:
    """SIGKILL + restart the API, restart PostgreSQL, stop and start S3; in long mode on a
    loop until the minutes are up."""
    cluster, until = run.cluster, time.monotonic() + MINUTES * 60
    while True:
        await asyncio.sleep(2)
        await to_thread.run_sync(cluster.kill_api)
        await asyncio.sleep(1)
        await to_thread.run_sync(cluster.start_api)
        await asyncio.sleep(3)
        await to_thread.run_sync(cluster.restart_postgres)
        await asyncio.sleep(4)
        await to_thread.run_sync(cluster.stop_s3)
        await asyncio.sleep(3)
        await to_thread.run_sync(cluster.start_s3)
        await asyncio.sleep(3)
        if time.monotonic() >= until:
            break
    run.chaos_done.set()


async def start(cluster: Cluster) -> Run:
    await to_thread.run_sync(cluster.start_services)
    town = await to_thread.run_sync(
        lambda: cluster.seed(grids=GRIDS, members_per_grid=PHONES_PER_GRID, households_per_grid=6)
    )
    await to_thread.run_sync(cluster.start_api)
    await to_thread.run_sync(cluster.wait_projected)
    proxy = FaultProxy(cluster.api_port, seed=SEED)
    await proxy.start()
    phones = [
        Phone(f"g{g}m{m}", staff, proxy.url, seed=SEED * 1000 + g * 10 + m)
        for g, grid in enumerate(town.grids)
        for m, staff in enumerate(town.members[grid])
    ]
    return Run(cluster, proxy, town, phones, asyncio.Event())


def grid_of(run: Run, phone: Phone) -> uuid.UUID:
    return next(g for g, staff in run.town.members.items() if phone.staff_id in staff)


async def test_phones_lose_and_double_nothing_through_faults_and_restarts(
    cluster: Cluster,
) -> None:
    # given a seeded township and phones that logged in and pulled (through the faulty proxy)
    run = await start(cluster)
    try:
        await exercise(run)
    finally:
        await run.proxy.close()
        await asyncio.gather(*(p.close() for p in run.phones))


async def exercise(run: Run) -> None:
    cluster, started = run.cluster, time.monotonic()
    deadline = started + max(MINUTES * 60, 60) + 240
    await asyncio.gather(*(p.login() for p in run.phones))
    await asyncio.gather(*(p.sync_until_done(deadline=deadline) for p in run.phones))
    # when they capture offline and sync while the API, PostgreSQL and S3 are restarted
    lives = [phone_life(run, p, grid_of(run, p), deadline) for p in run.phones]
    try:
        await asyncio.gather(chaos(run), *lives)
        # and then the network calms down and everything settles
        run.proxy.calm()
        await asyncio.gather(*(p.sync_until_done(deadline=deadline) for p in run.phones))
        await to_thread.run_sync(cluster.wait_projected)
        await asyncio.gather(*(p.pull() for p in run.phones))
        # then every invariant holds
        violations = await check_invariants(run)
    except PhoneGaveUp as gave_up:
        violations = [f"a phone gave up: {gave_up}"]
    line = summary(run, violations, time.monotonic() - started)
    print(line)
    assert not violations, line + "\n" + "\n".join(violations)


async def check_invariants(run: Run) -> list[str]:
    violations = checks.no_internal_errors(run.phones)
    violations += await to_thread.run_sync(lambda: checks.log_invariants(run.cluster, run.phones))
    violations += await checks.local_stores_match_fresh_pulls(run.phones, run.proxy.url)
    violations += await to_thread.run_sync(lambda: checks.photos_present(run.cluster, run.phones))
    violations += await to_thread.run_sync(lambda: checks.projections_match_rebuild(run.cluster))
    return violations


def summary(run: Run, violations: list[str], seconds: float) -> str:
    totals: Counter[str] = Counter()
    for phone in run.phones:
        totals.update(phone.stats)
    faults = dict(sorted(run.proxy.injected.items()))
    statuses = {k[7:]: v for k, v in sorted(totals.items()) if k.startswith("status_")}
    errors = {k[5:]: v for k, v in sorted(totals.items()) if k.startswith("http_")}
    return (
        f"fault-injection: phones={len(run.phones)} events_captured="
        f"{sum(len(p.captured) for p in run.phones)} events_sent={totals['events_sent']} "
        f"retries={totals['retries'] + totals['sync_failures']} statuses={statuses} "
        f"requests={run.proxy.requests} faults={faults} upstream_down={run.proxy.upstream_down} "
        f"server_5xx={errors} restarts={run.cluster.restarts} "
        f"photos_uploaded={totals['photos_uploaded']} violations={len(violations)} "
        f"seconds={seconds:.0f}"
    )
