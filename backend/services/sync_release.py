"""The sync worker: releases deferred pushed events and compacts old feed tombstones.

Held events wait on the server, not in the phone's queue: every pass retries them (a push that
accepted something wakes it early) and flags those past the horizon for review. One process
leads at a time (advisory lock), like the SLA scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from backend.bootstrap import Container
from backend.services.sync_push import RELEASE_WAKE, wake
from backend.services.sync_review import release_deferred
from projections import sync_feed

__all__ = ["TOMBSTONE_HORIZON", "run_forever", "run_once", "wake"]

log = logging.getLogger(__name__)

LOCK_KEY = 7_406_460  # arbitrary, fixed: the sync worker's leader lock
TOMBSTONE_HORIZON = timedelta(days=30)
"""``remove`` ops older than this are compacted; older cursors get a per-bucket reset."""


async def run_once(container: Container, *, now: datetime | None = None) -> int | None:
    """One pass if this process holds the lead; None when another one does."""
    now = now or datetime.now(UTC)
    async with container.pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
            return None
        try:
            # Held events are found through their read model: let it include the latest
            # pushes first, or an event deferred a moment ago waits for the next round.
            await container.runner.wait_for(await container.runner.head(), timeout=5.0)
            moved = await release_deferred(container, now=now)
            await sync_feed.compact(container.pool, before=now - TOMBSTONE_HORIZON)
            return moved
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)


async def run_forever(container: Container, stop: asyncio.Event, *, interval: float = 30.0) -> None:
    """A pass every ``interval`` seconds or when woken, until ``stop``; never dies on an error."""
    woken = container.services.setdefault(RELEASE_WAKE, asyncio.Event())
    while not stop.is_set():
        woken.clear()
        try:
            await run_once(container)
        except Exception:
            log.exception("sync release pass failed; retrying next interval")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_either(stop, woken), timeout=interval)


async def _either(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
