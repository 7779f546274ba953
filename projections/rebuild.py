"""The operator's side of the engine: rebuild with a progress bar, and status.

On a terminal the bar redraws in place (events done/total, rate, ETA); when stderr is not a
TTY (a log file, CI, systemd) it prints a plain line at most every few seconds and at the end,
so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO
from zoneinfo import ZoneInfo

from projections import ALL_PROJECTIONS, all_projections
from projections.engine import ProjectionRunner
from storage.db import apply_migrations, create_pool

__all__ = ["Progress", "print_status", "rebuild_projections"]


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@dataclass
class Progress:
    """Progress of one projection's rebuild, drawn on ``out``."""

    name: str
    out: TextIO = sys.stderr
    interval: float = 5.0
    """Seconds between plain lines when ``out`` is not a terminal."""
    clock: Callable[[], float] = time.monotonic
    started: float = field(init=False)
    _last: float = field(init=False, default=float("-inf"))

    def __post_init__(self) -> None:
        self.started = self._now()

    def _now(self) -> float:
        return self.clock()

    def line(self, done: int, total: int) -> str:
        elapsed = max(self._now() - self.started, 1e-9)
        rate = done / elapsed
        total = max(total, done)
        eta = (total - done) / rate if rate > 0 else 0.0
        fraction = done / total if total else 1.0
        width = 30
        filled = int(width * fraction)
        return (
            f"{self.name:<20} [{'#' * filled}{'.' * (width - filled)}] {fraction:6.1%} "
            f"{done:,}/{total:,} events {rate:,.0f}/s ETA {_duration(eta)}"
        )

    def update(self, done: int, total: int) -> None:
        if self.out.isatty():
            self.out.write("\r" + self.line(done, total))
        elif self._now() - self._last >= self.interval:
            self._last = self._now()
            self.out.write(self.line(done, total) + "\n")
        self.out.flush()

    def finish(self, done: int) -> None:
        elapsed = self._now() - self.started
        prefix = "\r" if self.out.isatty() else ""
        self.out.write(f"{prefix}{self.line(done, done)}\n")
        self.out.write(f"{self.name:<20} rebuilt: {done:,} events in {_duration(elapsed)}\n")
        self.out.flush()


async def rebuild_projections(database_url: str, name: str | None, *, zone: ZoneInfo) -> int:
    """Rebuild one projection or all, folding dates in the business zone ``zone`` (the
    server's setting: a rebuild must fold the days the running server folds)."""
    pool = await create_pool(database_url)
    try:
        await apply_migrations(pool)
        runner = ProjectionRunner(pool, all_projections(zone))
        names = [name] if name else sorted(runner.projections)
        unknown = [n for n in names if n not in runner.projections]
        if unknown:
            print(f"unknown projection {unknown[0]!r}; known: {sorted(runner.projections)}")
            return 2
        await runner.ensure_tables()
        for n in names:
            progress = Progress(n)
            done = await runner.rebuild(n, progress=progress.update)
            progress.finish(done)
        return 0
    finally:
        await pool.close()


async def print_status(database_url: str) -> int:
    pool = await create_pool(database_url)
    try:
        runner = ProjectionRunner(pool, [p() for p in ALL_PROJECTIONS])
        head, positions = await runner.head(), await runner.positions()
        failing = await runner.failing()
        for n, p in sorted(positions.items()):
            error = f"  FAILING: {failing[n]}" if n in failing else ""
            print(f"{n:<20} position {p:>10}  lag {head - p}{error}")
        return 0
    finally:
        await pool.close()
