"""The operator's side of the engine: rebuild with a progress bar, and status."""

from __future__ import annotations

import sys
import time

from projections import ALL_PROJECTIONS
from projections.engine import ProjectionRunner
from storage.db import apply_migrations, create_pool

__all__ = ["print_status", "rebuild_projections"]


def _bar(name: str, done: int, total: int, started: float) -> None:
    width, fraction = 30, (done / total if total else 1.0)
    filled = int(width * min(fraction, 1.0))
    rate = done / max(time.monotonic() - started, 1e-9)
    sys.stderr.write(
        f"\r{name:<20} [{'#' * filled}{'.' * (width - filled)}] "
        f"{done}/{total} events ({rate:,.0f}/s)"
    )
    sys.stderr.flush()


async def rebuild_projections(database_url: str, name: str | None) -> int:
    pool = await create_pool(database_url)
    try:
        await apply_migrations(pool)
        runner = ProjectionRunner(pool, [p() for p in ALL_PROJECTIONS])
        names = [name] if name else sorted(runner.projections)
        unknown = [n for n in names if n not in runner.projections]
        if unknown:
            print(f"unknown projection {unknown[0]!r}; known: {sorted(runner.projections)}")
            return 2
        await runner.ensure_tables()
        for n in names:
            started = time.monotonic()

            def progress(done: int, total: int, name: str = n, started: float = started) -> None:
                _bar(name, done, total, started)

            done = await runner.rebuild(n, progress=progress)
            _bar(n, done, done, started)
            sys.stderr.write("\n")
        return 0
    finally:
        await pool.close()


async def print_status(database_url: str) -> int:
    pool = await create_pool(database_url)
    try:
        runner = ProjectionRunner(pool, [p() for p in ALL_PROJECTIONS])
        head, positions = await runner.head(), await runner.positions()
        for n, p in sorted(positions.items()):
            print(f"{n:<20} position {p:>10}  lag {head - p}")
        return 0
    finally:
        await pool.close()
