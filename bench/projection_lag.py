"""Lag from an accepted write to "visible in every read model", at a sustained write rate.

    gridledger with-services -- .venv/bin/python bench/projection_lag.py [--rate 500 --seconds 30]

A writer *process* appends visits through the real event store at ``--rate`` events/s (one
event per save, as pushes from many phones arrive), noting the wall time each save returned
(accepted). This process runs the projection workers exactly as the server does
(``ProjectionRunner.run``: LISTEN/NOTIFY wake-ups, batches, advisory-lock leadership) and a
monitor that samples the lowest position over all projections every 2 ms. An event's lag is
the first sample at or past its position minus its accepted time.

Baseline in the same run: a raw tail woken by the same NOTIFY that reads and decodes the new
events and folds nothing — the floor any LISTEN-driven reader has on this machine.
Writes go straight to the event store rather than through HTTP because the HTTP write
endpoints wait for the read models before answering (read-your-writes), which would hide the
lag being measured.

Final line: JSON with p50/p99/max lag, the baseline's p99 and the ratio (aim: p99 <= 500 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from events.grid import GridUnit
from events.household import Household
from events.household_fields import PersonRecord
from events.meta import EventMeta, system_meta
from events.visit import Visit, VisitFindings
from projections import ALL_PROJECTIONS
from projections.engine import ProjectionRunner
from storage.db import apply_migrations, create_pool
from storage.eventstore import EVENTS_TABLE, EventLog, event_store_env
from storage.mapper import decode_event

DAY0 = date(2026, 1, 1)
_TAIL_SQL = (
    f"SELECT notification_id, originator_id, originator_version, topic, state FROM "
    f"{EVENTS_TABLE} WHERE notification_id > $1 ORDER BY notification_id LIMIT 1000"
)


def _setup(log: EventLog) -> tuple[Any, list[Any]]:
    meta = system_meta("bench")
    code = f"{int(time.time() * 1000) % 10**9:09d}000"
    town = GridUnit.create(code=code, name="滞后镇", level=1, parent_id=None, parent_level=None,
                           parent_code=None, effective_from=DAY0, meta=meta)  # fmt: skip
    village = GridUnit.create(code=code[:9] + "201", name="村", level=2, parent_id=town.id,
                              parent_level=1, parent_code=town.code, effective_from=DAY0,
                              meta=meta)  # fmt: skip
    grid = GridUnit.create(code=village.code + "001", name="网格", level=3, parent_id=village.id,
                           parent_level=2, parent_code=village.code, effective_from=DAY0,
                           meta=meta)  # fmt: skip
    households = [
        Household.register(
            household_no=f"LAG{uuid4().hex[:10]}",
            grid_id=grid.id,
            address="村1号",
            phone=None,
            persons=(
                PersonRecord(
                    person_id=uuid4(),
                    name="户主",
                    gender="male",
                    birth_date=None,
                    id_number=None,
                    phone=None,
                    relation="户主",
                ),
            ),
            effective_from=DAY0,
            meta=meta,
        )
        for _ in range(50)
    ]
    log.save(town, village, grid, *households)
    return grid, households


def writer(database_url: str, rate: int, seconds: float, batch: int, out: Any) -> None:
    """Append visits at ``rate``/s, ``batch`` per save (one phone's push); send (position,
    accepted wall time) pairs back."""
    log = EventLog(env=event_store_env(database_url))
    grid, households = _setup(log)
    meta = EventMeta(actor_id=uuid4(), role="grid_member", device_id="bench", client_time=None)
    accepted: list[tuple[int, float]] = []
    start, n = time.perf_counter(), 0
    while (elapsed := time.perf_counter() - start) < seconds:
        if n > elapsed * rate:
            time.sleep(max(n / rate - elapsed, 0))
            continue
        visits = [
            Visit.record(
                visit_id=uuid4(), household_id=households[(n + k) % len(households)].id,
                grid_id=grid.id, purpose="routine", method="in_person",
                visited_at=datetime.now(UTC), findings=VisitFindings(), meta=meta,
            )
            for k in range(batch)
        ]  # fmt: skip
        recordings = log.save(*visits)
        now = time.time()
        accepted += [(r.notification.id, now) for r in recordings]
        n += batch
    log.close()
    out.put((accepted, time.perf_counter() - start))


async def monitor(
    pool: asyncpg.Pool, names: list[str], samples: dict[str, list[tuple[float, int]]],
    stop: asyncio.Event,
) -> None:  # fmt: skip
    """Every 2 ms: each projection's position, and the lowest ("visible everywhere")."""
    while not stop.is_set():
        rows = await pool.fetch(
            "SELECT name, position FROM projection_positions WHERE name = ANY($1::text[])", names
        )
        now = time.time()
        for r in rows:
            samples[r["name"]].append((now, int(r["position"])))
        samples["*"].append((now, min(int(r["position"]) for r in rows)))
        await asyncio.sleep(0.002)


async def drain(pool: asyncpg.Pool, names: list[str], last: int, timeout: float) -> None:
    """Wait (bounded) until every projection has folded the last accepted event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        low = await pool.fetchval(
            "SELECT min(position) FROM projection_positions WHERE name = ANY($1::text[])", names
        )
        if int(low or 0) >= last:
            return
        await asyncio.sleep(0.1)


async def raw_tail(
    database_url: str, samples: list[tuple[float, int]], stop: asyncio.Event
) -> None:
    """The baseline: woken by the same NOTIFY, read and decode new events, fold nothing."""
    conn = await asyncpg.connect(database_url)
    woken = asyncio.Event()
    await conn.add_listener(EVENTS_TABLE, lambda *_: woken.set())
    position = int(
        await conn.fetchval(f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}")
    )
    sql = _TAIL_SQL
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), 0.5)
            woken.clear()
            while rows := await conn.fetch(sql, position):
                for r in rows:
                    decode_event(r["topic"], r["state"], originator_id=r["originator_id"],
                                 originator_version=r["originator_version"])  # fmt: skip
                position = rows[-1]["notification_id"]
                samples.append((time.time(), position))
    finally:
        await conn.close()


def _lag(
    accepted: list[tuple[int, float]], samples: list[tuple[float, int]], end: float
) -> list[float]:
    """Per accepted event: first sample at or past it, minus its accepted time; an event never
    seen counts as ``end`` minus its accepted time (a lower bound, not dropped)."""
    lags, i = [], 0
    for position, at in accepted:  # both ascending
        while i < len(samples) and samples[i][1] < position:
            i += 1
        seen = samples[i][0] if i < len(samples) else end
        lags.append(max(seen - at, 0.0))
    return lags


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else 0.0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--batch", type=int, default=10, help="events per save (one push)")
    parser.add_argument("--single", action="store_true", help="all projections in one worker")
    parser.add_argument("--drain", type=float, default=120.0, help="max seconds to catch up")
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    pool = await create_pool(url, max_size=40)
    EventLog(env=event_store_env(url)).close()  # creates the event table
    await apply_migrations(pool)
    runner = ProjectionRunner(pool, [p() for p in ALL_PROJECTIONS])
    await runner.ensure_tables()
    # One worker per projection (DESIGN §8's deployment): each leads and folds its own, so a
    # slow read model delays only itself. --single runs them all in one worker, as
    # `gridledger serve` does today.
    workers = [runner] if args.single else [ProjectionRunner(pool, [p()]) for p in ALL_PROJECTIONS]
    names = sorted(runner.projections)
    stop = asyncio.Event()
    raw: list[tuple[float, int]] = []
    samples: dict[str, list[tuple[float, int]]] = {n: [] for n in [*names, "*"]}
    tasks = [asyncio.create_task(w.run(stop, database_url=url)) for w in workers]
    watcher = asyncio.create_task(monitor(pool, names, samples, stop))
    tail = asyncio.create_task(raw_tail(url, raw, stop))
    queue: Any = mp.get_context("spawn").Queue()
    proc = mp.get_context("spawn").Process(
        target=writer, args=(url, args.rate, args.seconds, args.batch, queue)
    )
    proc.start()
    accepted, wrote_for = await asyncio.to_thread(queue.get)
    proc.join()
    head = await runner.head()
    behind = {n: head - p for n, p in (await runner.positions()).items() if head - p > 0}
    print(f"when the writer stopped, events not yet folded: {behind}", flush=True)
    await drain(pool, names, accepted[-1][0], timeout=args.drain)
    stop.set()
    for w in workers:
        w.wake()
    await asyncio.gather(*tasks, watcher, tail)
    await pool.close()
    end = time.time()
    accepted = accepted[len(accepted) // 20 :]  # drop the first 5 %: the workers warming up
    lags = _lag(accepted, samples["*"], end)
    per = {n: round(_p(_lag(accepted, samples[n], end), 0.99) * 1000) for n in names}
    base = _p(_lag(accepted, raw, end), 0.99)
    achieved = len(accepted) / (wrote_for * 0.95)
    p99 = _p(lags, 0.99)
    print(f"wrote {achieved:,.0f} events/s; lag p50 {_p(lags, 0.5) * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms; raw tail p99 "
          f"{base * 1000:.1f} ms", flush=True)  # fmt: skip
    print(f"p99 per projection (ms): {per}", flush=True)
    print(json.dumps({
        "bench": "projection_lag", "rate_target": args.rate, "rate_achieved": round(achieved),
        "events": len(lags), "batch": args.batch, "workers": len(workers),
        "projections": len(names),
        "lag_p50_ms": round(_p(lags, 0.5) * 1000, 1), "lag_p99_ms": round(p99 * 1000, 1),
        "lag_max_ms": round(max(lags) * 1000, 1), "p99_ms_per_projection": per,
        "raw_tail_p99_ms": round(base * 1000, 1),
        "ratio_p99_to_raw_tail": round(p99 / base, 1) if base else None, "aim_p99_ms": 500,
    }))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
