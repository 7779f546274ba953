"""Rebuild every projection from a large log, against two peers measured in the same run.

    gridledger with-services -- .venv/bin/python bench/projection_rebuild.py [--events 1000000]

1. Fills the event log with a township's worth of events (grid tree, staff, households, and
   visits with some amendments) through the real event store, ``--events`` in all.
2. Raw rate: reads the whole log in position order and decodes every event (the work any
   projection must do at least), events/s.
3. Rebuild: drops and refolds every projection with the engine (``ProjectionRunner.rebuild``),
   all projections concurrently as separate leaders (one worker per projection, DESIGN §8);
   figure = log events / wall time.
4. Stock: the library's own ``eventsourcing.projection.ProjectionRunner`` with a
   ``PostgresTrackingRecorder`` view doing the same insert as ``visit_log`` (one event, one
   view row and one tracking row per commit), on the first ``--stock-events`` visits only; its
   visits/s rate is compared with the engine's ``visit_log`` rebuilt alone over the whole log
   (visits/s), i.e. the stock rate is extrapolated from the subset. The headline ratio compares
   the runners on the same view (``EngineVisitCopy``: the stock view's rows, written the
   engine's way); ``visit_log``'s own ratio is printed beside it.

Final line: JSON with the figures and the ratios (aims: rebuild/raw >= 0.3, engine/stock >= 20).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection
from eventsourcing.projection import ProjectionRunner as StockRunner

from events.grid import GridUnit
from events.household import Household
from events.household_fields import PersonRecord
from events.meta import EventMeta, system_meta
from events.staff import Staff
from events.visit import Visit, VisitFindings
from projections import ALL_PROJECTIONS
from projections.engine import ProjectionRunner
from storage.db import apply_migrations, create_pool
from storage.eventstore import EVENTS_TABLE, EventLog, event_store_env
from storage.mapper import decode_event

VILLAGES, GRIDS_PER_VILLAGE, HOUSEHOLDS_PER_GRID = 10, 10, 200
SAVE_BATCH = 2_000
DAY0 = date(2026, 1, 1)
_TAIL_SQL = (
    f"SELECT notification_id, originator_id, originator_version, topic, state FROM "
    f"{EVENTS_TABLE} WHERE notification_id > $1 ORDER BY notification_id LIMIT 1000"
)


def _township(log: EventLog) -> tuple[list[Any], list[Any]]:
    meta = system_meta("bench")
    code = f"{int(time.time()) % 10**9:09d}000"
    town = GridUnit.create(code=code, name="基准镇", level=1, parent_id=None, parent_level=None,
                           parent_code=None, effective_from=DAY0, meta=meta)  # fmt: skip
    units, grids, staff = [town], [], []
    for v in range(VILLAGES):
        village = GridUnit.create(
            code=code[:9] + f"{201 + v:03d}", name=f"村{v}", level=2, parent_id=town.id,
            parent_level=1, parent_code=town.code, effective_from=DAY0, meta=meta,
        )  # fmt: skip
        units.append(village)
        for g in range(GRIDS_PER_VILLAGE):
            grid = GridUnit.create(
                code=village.code + f"{g + 1:03d}", name=f"村{v}网格{g}", level=3,
                parent_id=village.id, parent_level=2, parent_code=village.code,
                effective_from=DAY0, meta=meta,
            )  # fmt: skip
            grids.append(grid)
            staff.append(Staff.appoint(name=f"网格员{v}-{g}", work_phone="13800000000",
                                       role="grid_member", scope_unit_id=grid.id,
                                       effective_from=DAY0, meta=meta))  # fmt: skip
    log.save(*units, *grids, *staff)
    return grids, staff


def _households(log: EventLog, grids: list[Any]) -> list[tuple[UUID, UUID]]:
    meta, out, batch = system_meta("bench"), [], []
    for i, grid in enumerate(grids):
        for h in range(HOUSEHOLDS_PER_GRID):
            head = PersonRecord(
                person_id=uuid4(), name=f"户主{i}-{h}", gender="male", birth_date=None,
                id_number=None, phone=None, relation="户主",
            )  # fmt: skip
            household = Household.register(
                household_no=f"B{i:04d}{h:04d}{uuid4().hex[:6]}", grid_id=grid.id,
                address=f"村{i}号{h}", phone=None, persons=(head,), effective_from=DAY0, meta=meta,
            )  # fmt: skip
            batch.append(household)
            out.append((household.id, grid.id))
            if len(batch) >= SAVE_BATCH:
                log.save(*batch)
                batch = []
    log.save(*batch)
    return out


def _visits(log: EventLog, households: list[tuple[UUID, UUID]], staff: list[Any], n: int) -> int:
    member_of = {s.current.scope_unit_id: s.id for s in staff}
    written, batch, start = 0, [], datetime(2026, 1, 2, 9, tzinfo=UTC)
    while written < n:
        hid, gid = households[written % len(households)]
        meta = EventMeta(actor_id=member_of[gid], role="grid_member", device_id="bench",
                         client_time=None, scope_unit_ids=(gid,))  # fmt: skip
        v = Visit.record(
            visit_id=uuid4(), household_id=hid, grid_id=gid, purpose="routine",
            method="in_person", visited_at=start + timedelta(minutes=written % 400_000),
            findings=VisitFindings(notes="走访正常"), meta=meta,
        )  # fmt: skip
        if written % 20 == 19 and written + 1 < n:
            v.amend(notes="补记", needs=(), meta=meta)
            written += 1
        batch.append(v)
        written += 1
        if len(batch) >= SAVE_BATCH:
            log.save(*batch)
            batch = []
    log.save(*batch)
    return written


def fill(database_url: str, events: int) -> int:
    log = EventLog(env=event_store_env(database_url))
    try:
        grids, staff = _township(log)
        households = _households(log, grids)
        fixed = 1 + VILLAGES + 2 * len(grids) + len(households)
        _visits(log, households, staff, max(events - fixed, 0))
        return log.highest_position()
    finally:
        log.close()


async def raw_rate(pool: Any, head: int) -> float:
    sql = _TAIL_SQL
    started, position, count = time.perf_counter(), 0, 0
    async with pool.acquire() as conn:
        while position < head:
            rows = await conn.fetch(sql, position)
            if not rows:
                break
            for r in rows:
                decode_event(r["topic"], r["state"], originator_id=r["originator_id"],
                             originator_version=r["originator_version"])  # fmt: skip
            count += len(rows)
            position = rows[-1]["notification_id"]
    return count / (time.perf_counter() - started)


async def rebuild_all(pool: Any) -> tuple[float, dict[str, float]]:
    runner = ProjectionRunner(pool, [p() for p in ALL_PROJECTIONS])
    await runner.ensure_tables()

    async def one(name: str) -> tuple[str, float]:
        started = time.perf_counter()
        await runner.rebuild(name)
        return name, time.perf_counter() - started

    started = time.perf_counter()
    timings = dict(await asyncio.gather(*(one(n) for n in sorted(runner.projections))))
    return time.perf_counter() - started, timings


class EngineVisitCopy:
    """The stock view's work (one row per visit) as an engine projection: the same rows, the
    engine's way (a batch per transaction, position in the same transaction)."""

    name = "bench_engine_visits"
    tables: tuple[str, ...] = ("bench_engine_visits",)
    ddl = (
        "CREATE TABLE IF NOT EXISTS bench_engine_visits (id uuid PRIMARY KEY, household_id uuid, "
        "grid_id uuid, visitor_id uuid, visited_at timestamptz)"
    )

    def interested(self, topic: str) -> bool:
        return topic == "events.visit:Visit.Recorded"

    async def apply(self, conn: Any, batch: Any) -> None:
        await conn.executemany(
            "INSERT INTO bench_engine_visits VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            [(r.event.originator_id, r.event.household_id, r.event.grid_id,
              r.event.meta.actor_id, r.event.visited_at) for r in batch],
        )  # fmt: skip


async def engine_copy_rate(pool: Any, visits: int) -> float:
    runner = ProjectionRunner(pool, [EngineVisitCopy()])
    await runner.ensure_tables()
    started = time.perf_counter()
    await runner.rebuild(EngineVisitCopy.name)
    return visits / (time.perf_counter() - started)


class StockVisitView(PostgresTrackingRecorder):
    """The stock way: a tracking recorder whose method writes one view row and the tracking
    row in one transaction per event."""

    def record_visit(self, e: Any, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
            curs.execute(
                "INSERT INTO bench_stock_visits VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (e.originator_id, e.household_id, e.grid_id, e.meta.actor_id, e.visited_at),
            )


class StockVisitProjection(Projection[StockVisitView]):
    name = "benchstock"
    topics = ("events.visit:Visit.Recorded",)

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.record_visit(domain_event, tracking)


async def stock_rate(pool: Any, database_url: str, subset: int) -> tuple[float, int]:
    await pool.execute(
        "DROP TABLE IF EXISTS bench_stock_visits, benchstock_tracking; "
        "CREATE TABLE bench_stock_visits (id uuid PRIMARY KEY, household_id uuid, "
        "grid_id uuid, visitor_id uuid, visited_at timestamptz)"
    )
    stop_at = await pool.fetchval(
        f"SELECT max(notification_id) FROM (SELECT notification_id FROM {EVENTS_TABLE} "
        "WHERE topic = 'events.visit:Visit.Recorded' ORDER BY notification_id LIMIT $1) s",
        subset,
    )
    env = {**event_store_env(database_url), "CREATE_TABLE": "y"}

    def run() -> float:
        started = time.perf_counter()
        with StockRunner(application_class=EventLog, projection_class=StockVisitProjection,
                         view_class=StockVisitView, env=env) as runner:  # fmt: skip
            runner.wait(stop_at, timeout=3600)
        return time.perf_counter() - started

    elapsed = await asyncio.to_thread(run)
    done = await pool.fetchval("SELECT count(*) FROM bench_stock_visits")
    return done / elapsed, int(done)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--stock-events", type=int, default=10_000)
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    pool = await create_pool(url, max_size=20)
    try:
        await apply_migrations(pool)
        t0 = time.perf_counter()
        head = await asyncio.to_thread(fill, url, args.events)
        print(f"filled {head:,} events in {time.perf_counter() - t0:.0f}s", flush=True)
        raw = await raw_rate(pool, head)
        print(f"raw read+decode: {raw:,.0f} events/s", flush=True)
        wall, timings = await rebuild_all(pool)
        rebuild = head / wall
        for name, seconds in sorted(timings.items()):
            print(f"  {name:<20} {seconds:8.1f}s  {head / seconds:>10,.0f} log events/s")
        print(f"rebuild all ({len(timings)} concurrently): {wall:.1f}s, {rebuild:,.0f}/s")
        visits = await pool.fetchval(
            f"SELECT count(*) FROM {EVENTS_TABLE} WHERE topic = 'events.visit:Visit.Recorded'"
        )
        # The stock runner below runs alone: time the engine's visit_log alone too.
        alone = ProjectionRunner(pool, [p() for p in ALL_PROJECTIONS if p().name == "visit_log"])
        started = time.perf_counter()
        await alone.rebuild("visit_log")
        engine_visits = visits / (time.perf_counter() - started)
        engine_copy = await engine_copy_rate(pool, visits)
        stock, stock_done = await stock_rate(pool, url, args.stock_events)
        print(f"visit_log engine {engine_visits:,.0f} visits/s; same view as the stock one "
              f"{engine_copy:,.0f} visits/s; stock runner {stock:,.0f} "
              f"visits/s (on the first {stock_done:,})", flush=True)  # fmt: skip
        print(json.dumps({
            "bench": "projection_rebuild", "events": head, "projections": len(timings),
            "rebuild_events_per_s": round(rebuild), "raw_read_decode_events_per_s": round(raw),
            "ratio_rebuild_to_raw": round(rebuild / raw, 3),
            "engine_visit_log_visits_per_s": round(engine_visits),
            "stock_runner_visits_per_s": round(stock), "stock_subset_events": stock_done,
            "engine_same_view_visits_per_s": round(engine_copy),
            "ratio_engine_to_stock": round(engine_copy / stock, 1),
            "ratio_visit_log_to_stock": round(engine_visits / stock, 1),
        }))  # fmt: skip
    finally:
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
