"""Soak: a mixed field load against a real ``gridledger serve`` for N minutes (default 10).

Set-up (untimed): a township of ``--phones`` grids of 50 households, one grid member (phone)
each, a supervisor, an auditor and an admin over the town (``sync_common``); an assessment
scheme; a published notice-board edition for the village; every phone bootstraps its grid.

Load (closed loop, each client waits for its answer, then thinks an exponential time):

- phones (``--phones``, default 12; mean think ``--think`` 1.0 s): 40 % incremental pull,
  30 % push of 10 visits, 10 % re-send of the last pushed batch (a lost response: every item
  must answer ``duplicate``), 10 % case report with a photo (upload 60 kB JPEG, then push
  ``case.reported`` naming it), 10 % visit with a photo (upload, then push the visit);
  a phone refreshes its access token when it is 10 minutes old, as the SDK does;
- a supervisor and an auditor (mean think ``--query-think`` 0.5 s each) cycle through
  ROLE_QUERIES: the case board, a grid's household list, assessment rankings, grid coverage,
  the notice-board editions; the supervisor also a member's profile, a signed link to the
  latest photo and the review queue; the auditor the public board, the access audit and the
  device status list.

The server always runs with the memory probe (``soak_probe.py``): where its RSS sits, and the
memory it holds after a ``gc.collect()`` + ``malloc_trim(0)`` at warm-up and at the end.
``--trace-malloc`` also runs it under tracemalloc and prints what grew (``soak_trace.py``);
``--uvicorn asyncio,h11`` serves with the pure-Python loop and parser (investigation only).

About 12 phone actions/s and 4 queries/s: ~35 visits/s land in the log (with their receipts).
Figures and bounds: see ``soak_report.py``. The final JSON line carries ``figure`` (growth of
the held memory after warm-up, %), ``bound`` (5) and ``ratio`` (figure / bound; <= 1 passes)
plus the raw RSS growth, the latency ratio, error count and the database growth per 1,000 log
events; exit code 1 when a bound breaks.

    .venv/bin/gridledger with-services -- .venv/bin/python bench/soak.py --minutes 1
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import psutil
from soak_phone import Phone, Session, why
from soak_probe import probe_report, request_trim
from soak_report import BOUND_HELD_GROWTH_PCT, Recorder, RssSampler, rss_line, table, verdict
from soak_setup import World, build_world, prepare_http
from soak_trace import growth_report, snapshot, traced_server
from sync_common import bench_env, keepalive_limits, open_container, wait_projected

from backend.bootstrap import Container
from storage.embedded import free_port

CHINA = timezone(timedelta(hours=8))
# The auditor may not read member profiles (40300, docs/profiles-queries-exports.md): it reads
# the access audit instead; the supervisor also opens a fresh photo (a signed, audited link).
ROLE_QUERIES = {
    "supervisor": ("q_case_board", "q_households", "q_member_profile", "q_assessment",
                   "q_coverage", "q_notice_editions", "q_media_link", "q_sync_review"),
    "auditor": ("q_case_board", "q_households", "q_assessment", "q_coverage",
                "q_notice_editions", "q_public_board", "q_access_audit", "q_sync_devices"),
}  # fmt: skip


def query(world: dict[str, Any], rng: random.Random, kind: str) -> tuple[str, dict[str, Any]]:
    """Path and parameters of one question, built when it is asked (the latest photo then)."""
    period = f"{datetime.now(CHINA).year}-Q{(datetime.now(CHINA).month - 1) // 3 + 1}"
    photo = world["photos"][-1] if world["photos"] else "0" * 64
    every: dict[str, tuple[str, dict[str, Any]]] = {
        "q_case_board": ("/v1/case-board", {"limit": 50}),
        "q_households": ("/v1/households", {"grid_id": str(rng.choice(world["grids"])),
                                            "limit": 50}),
        "q_member_profile": (f"/v1/members/{rng.choice(world['members'])}/profile", {}),
        "q_assessment": (f"/v1/assessments/periods/{period}/rankings",
                         {"scheme": world["scheme"], "level": "grid"}),
        "q_coverage": ("/v1/coverage/grids", {"limit": 50}),
        "q_notice_editions": (f"/v1/notice-board/units/{world['village']}/editions", {}),
        "q_public_board": (f"/v1/public/notice-board/{world['village']}", {}),
        "q_media_link": (f"/v1/media/{photo}", {}),
        "q_sync_review": ("/v1/sync/review", {"status": "review", "limit": 50}),
        "q_access_audit": ("/v1/audit/access", {"limit": 50}),
        "q_sync_devices": ("/v1/sync/devices", {"limit": 50}),
    }  # fmt: skip
    return every[kind]


async def _query(
    client: httpx.AsyncClient, rec: Recorder, session: Session, kind: str, path: str,
    params: dict[str, Any],
) -> None:  # fmt: skip
    await session.fresh(client, rec)
    began = time.perf_counter()
    r = await client.get(path, headers=session.headers(), params=params)
    rec.add(kind, began, problem=None if r.status_code == 200 else why(r))


async def officer(
    client: httpx.AsyncClient, rec: Recorder, session: Session, world: dict[str, Any],
    *, role: str, think: float, until: float, rng: random.Random,
) -> None:  # fmt: skip
    while time.perf_counter() < until:
        for kind in ROLE_QUERIES[role]:
            path, params = query(world, rng, kind)
            await _guarded(rec, _query(client, rec, session, kind, path, params))
            await asyncio.sleep(rng.expovariate(1 / think))
            if time.perf_counter() >= until:
                return


async def _guarded(rec: Recorder, step: Any) -> None:
    """A timeout or a dropped connection is an error of the run, not the end of the client."""
    began = time.perf_counter()
    try:
        await step
    except httpx.HTTPError as exc:
        rec.add("transport", began, problem=repr(exc))


async def phone_loop(
    client: httpx.AsyncClient, rec: Recorder, phone: Phone, *, think: float, until: float
) -> None:
    while time.perf_counter() < until:
        await _guarded(rec, phone.act(client, rec))
        await asyncio.sleep(phone.rng.expovariate(1 / think))


def _server_pid() -> int:
    serving = [p for p in psutil.Process().children() if "serve" in p.cmdline()]
    assert len(serving) == 1, f"expected one server process, found {serving}"
    pid: int = serving[0].pid
    return pid


_TABLE_SIZES = (
    "SELECT c.relname, pg_total_relation_size(c.oid) AS bytes FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
)


async def _db(container: Container) -> tuple[int, int, dict[str, int]]:
    """Database size in bytes, the log's head position and every table's size (with indexes)."""
    size = await container.pool.fetchval("SELECT pg_database_size(current_database())")
    head: int = await container.runner.head()
    tables = {r["relname"]: int(r["bytes"]) for r in await container.pool.fetch(_TABLE_SIZES)}
    return int(size), head, tables


def _table_growth(before: dict[str, int], after: dict[str, int], events: int) -> dict[str, int]:
    """Bytes per 1,000 log events of the tables that grew most (heap + indexes + TOAST)."""
    grown = {t: after[t] - before.get(t, 0) for t in after}
    top = sorted(grown.items(), key=lambda kv: -kv[1])[:8]
    return {t: round(b / max(1, events) * 1000) for t, b in top if b > 0}


async def _at_warm_up(
    rss: RssSampler, probe: Path, trace: Path | None, after_s: float
) -> tuple[dict[str, Any], Path | None]:
    """At the end of the first window: the raw RSS sample, then the memory the server holds
    (RSS after gc + malloc_trim, see soak_probe.py) and, when tracing, snapshot 1."""
    await asyncio.sleep(after_s)
    rss.sample()  # the raw warm figure, taken before the trim gives free heap back
    held = await request_trim(rss.pid, probe)
    return held, (await snapshot(rss.pid, trace, 1) if trace else None)


async def _run_load(
    client: httpx.AsyncClient, world: World, args: argparse.Namespace, *, window: float,
    trace: Path | None, probe: Path,
) -> tuple[Recorder, RssSampler, tuple[dict[str, Any], dict[str, Any]], list[str]]:  # fmt: skip
    phones = [
        Phone(
            world.town.households[grid],
            Session(pair, f"soak-{i}"),
            seed=args.seed + i,
            uploaded=world.photos,
        )
        for i, (grid, pair) in enumerate(zip(world.town.grids, world.phones, strict=True))
    ]
    boot = Recorder()
    for phone in phones:
        await phone.pull(client, boot)  # bootstrap: untimed, as on a new phone
    assert not boot.errors, f"bootstrap failed: {boot.error_examples}"
    rec, queried = Recorder(), world.as_query_args()
    rss = RssSampler(_server_pid(), rec.started)
    until, stop = rec.started + args.minutes * 60, asyncio.Event()
    sampler = asyncio.create_task(rss.run(stop))
    warm = asyncio.create_task(_at_warm_up(rss, probe, trace, window))
    officers = [
        officer(client, rec, Session(world.officers[role], f"soak-{role}"), queried,
                role=role, think=args.query_think, until=until, rng=random.Random(args.seed - k))
        for k, role in enumerate(("supervisor", "auditor"))
    ]  # fmt: skip
    await asyncio.gather(
        *(phone_loop(client, rec, p, think=args.think, until=until) for p in phones), *officers
    )
    stop.set()
    await sampler
    held_warm, snap = await warm
    held_end = await request_trim(rss.pid, probe)
    grown = growth_report(snap, await snapshot(rss.pid, trace, 2)) if trace and snap else []
    return rec, rss, (held_warm, held_end), grown + probe_report(probe)


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--phones", type=int, default=12)
    parser.add_argument("--think", type=float, default=1.0, help="phone mean think time, s")
    parser.add_argument("--query-think", type=float, default=0.5, help="officer think time, s")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--trace-malloc", action="store_true",
        help="leak hunting: tracemalloc in the server, snapshot diff printed (slow; see "
        "soak_trace.py)",
    )  # fmt: skip
    parser.add_argument("--uvicorn", default=None, help="investigation: LOOP,HTTP e.g. asyncio,h11")
    return parser.parse_args()


async def main() -> int:
    args = _args()
    env = bench_env()
    duration = args.minutes * 60
    window = 60.0 if args.minutes >= 2 else duration / 4  # a short check still has 4 windows
    trace = Path(tempfile.mkdtemp(prefix="gl-soak-trace-")) if args.trace_malloc else None
    if trace:
        atexit.register(shutil.rmtree, trace, ignore_errors=True)  # snapshots are large
    probe = Path(tempfile.mkdtemp(prefix="gl-soak-probe-")) / "probe.jsonl"
    atexit.register(shutil.rmtree, probe.parent, ignore_errors=True)
    serving = traced_server(env, free_port(), trace, probe=probe, uvicorn_choice=args.uvicorn)
    with serving as url:
        async with open_container(env) as container:
            world = await build_world(container, phones=args.phones)
            limits = keepalive_limits(args.phones + 4)
            async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
                await prepare_http(client, world)
                size0, head0, tables0 = await _db(container)
                rec, rss, held, grown = await _run_load(
                    client, world, args, window=window, trace=trace, probe=probe
                )
            await wait_projected(container)
            size1, head1, tables1 = await _db(container)
    print("\n".join(table(rec, window_s=window, duration_s=duration)))
    print("\n".join([rss_line(rss, window_s=window, duration_s=duration), *grown]))
    judged = verdict(rec, rss, held=held, window_s=window, duration_s=duration)
    per_1000 = (size1 - size0) / max(1, head1 - head0) * 1000
    growth = judged["held_growth_pct"]
    line = {
        "bench": "soak", "minutes": args.minutes, "phones": args.phones,
        "figure": growth, "bound": BOUND_HELD_GROWTH_PCT,
        "ratio": round(max(growth, 0.0) / BOUND_HELD_GROWTH_PCT, 3),
        **judged,
        "requests_per_s": round(judged["requests"] / duration, 1),
        "log_events": head1 - head0, "db_growth_mb": round((size1 - size0) / 2**20, 1),
        "db_bytes_per_1000_events": round(per_1000),
        "db_top_tables_bytes_per_1000_events": _table_growth(tables0, tables1, head1 - head0),
        "errors_by_kind": dict(rec.errors), "counts": dict(rec.counts),
    }  # fmt: skip
    print(json.dumps(line, ensure_ascii=False))
    return 0 if judged["ok"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
