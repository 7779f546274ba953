"""The projection engine: folds the event log into read models, exactly once.

Each read model (a :class:`Projection`) keeps its position in ``projection_positions``; a batch of
events and the new position are written in one transaction, so a crash can only repeat work
that was rolled back, never apply an event twice or skip one. The library inserts events under
an exclusive table lock, so commit order equals ``notification_id`` order and a cursor over
positions never skips a row that commits late.

While catching up the engine folds hundreds of events per transaction (committing per event is
25–40x slower); when idle it sleeps until PostgreSQL's NOTIFY (sent by the library on every
insert) or an in-process wake-up. One leader per projection is chosen by an advisory lock, so
several worker processes can run and exactly one folds each projection.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from storage.eventstore import EVENTS_TABLE
from storage.mapper import decode_event

__all__ = ["Projection", "ProjectionRunner", "Recorded"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Recorded:
    """A decoded event with its position in the log."""

    position: int
    topic: str
    event: Any


class Projection(Protocol):
    name: str
    tables: tuple[str, ...]
    """Tables this projection owns (dropped and recreated by a rebuild)."""
    ddl: str
    """Idempotent DDL creating the tables (``CREATE TABLE IF NOT EXISTS`` ...)."""

    def interested(self, topic: str) -> bool: ...

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None: ...


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"projection:{name}".encode()).digest()[:7], "big")


# Every projection reads every row (its position must pass them all), but only the rows of
# topics it folds carry their state: shipping and parsing every event's bytes for each of the
# read models was most of a rebuild's time. $3 is the projection's known interesting topics; a
# row of a topic not classified yet comes without state and is fetched again once classified.
_SELECT = (
    f"SELECT notification_id, originator_id, originator_version, topic, "
    f"CASE WHEN topic = ANY($3::text[]) THEN state END AS state "
    f"FROM {EVENTS_TABLE} WHERE notification_id > $1 ORDER BY notification_id LIMIT $2"
)
_STATES = f"SELECT notification_id, state FROM {EVENTS_TABLE} WHERE notification_id = ANY($1)"


class ProjectionRunner:
    def __init__(
        self, pool: asyncpg.Pool, projections: Sequence[Projection], *, batch_size: int = 1000
    ) -> None:
        self.pool = pool
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self._wake = asyncio.Event()
        self._advanced = asyncio.Condition()
        self._interest: dict[str, dict[str, bool]] = {name: {} for name in self.projections}

    async def ensure_tables(self) -> None:
        async with self.pool.acquire() as conn:
            for p in self.projections.values():
                await conn.execute(p.ddl)
                await conn.execute(
                    "INSERT INTO projection_positions (name) VALUES ($1) ON CONFLICT DO NOTHING",
                    p.name,
                )

    def wake(self) -> None:
        """Called in-process after a save, so same-process writes do not wait for NOTIFY."""
        self._wake.set()

    async def positions(self) -> dict[str, int]:
        rows = await self.pool.fetch("SELECT name, position FROM projection_positions")
        return {r["name"]: r["position"] for r in rows if r["name"] in self.projections}

    async def head(self) -> int:
        value = await self.pool.fetchval(f"SELECT max(notification_id) FROM {EVENTS_TABLE}")
        return int(value or 0)

    async def failing(self) -> dict[str, str]:
        """Projections stopped at an event they cannot fold, with the error."""
        rows = await self.pool.fetch(
            "SELECT name, last_error FROM projection_positions WHERE last_error IS NOT NULL"
        )
        return {r["name"]: r["last_error"] for r in rows if r["name"] in self.projections}

    async def wait_for(self, position: int, *, timeout: float = 10.0) -> bool:
        """Wait until every healthy projection has folded ``position``; False on timeout.

        A failing projection is not waited for: it cannot advance until fixed, and every
        writer would otherwise stall behind it (its lag and error show at /health)."""
        deadline = time.monotonic() + timeout
        while await self._behind(position):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.wake()
            async with self._advanced:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._advanced.wait(), min(remaining, 0.2))
        return True

    async def _behind(self, position: int) -> bool:
        rows = await self.pool.fetch(
            "SELECT name FROM projection_positions WHERE position < $1 AND last_error IS NULL",
            position,
        )
        return any(r["name"] in self.projections for r in rows)

    async def catch_up(self, name: str) -> int:
        """Fold every event after the projection's position; returns how many rows were read."""
        projection, total = self.projections[name], 0
        async with self.pool.acquire() as conn:
            while True:
                read = await self._fold_batch(conn, projection)
                total += read
                if read < self.batch_size:
                    return total

    async def _fold_batch(self, conn: asyncpg.Connection, projection: Projection) -> int:
        async with conn.transaction():
            # FOR UPDATE: a second folder of the same projection (there should be none: leader
            # lock) would block here instead of applying the batch twice.
            position = await conn.fetchval(
                "SELECT position FROM projection_positions WHERE name = $1 FOR UPDATE",
                projection.name,
            )
            rows = await conn.fetch(
                _SELECT, position, self.batch_size, self._interesting_topics(projection)
            )
            if not rows:
                return 0
            batch = await self._decode(conn, projection, rows)
            if batch:
                await projection.apply(conn, batch)
            await conn.execute(
                "UPDATE projection_positions SET position = $2, updated_at = now(), "
                "last_error = NULL, failed_at = NULL WHERE name = $1",
                projection.name,
                rows[-1]["notification_id"],
            )
        async with self._advanced:
            self._advanced.notify_all()
        return len(rows)

    def _interesting_topics(self, projection: Projection) -> list[str]:
        return [t for t, yes in self._interest[projection.name].items() if yes]

    def _interested(self, projection: Projection, topic: str) -> bool:
        known = self._interest[projection.name]
        if topic not in known:
            known[topic] = projection.interested(topic)
        return known[topic]

    async def _decode(
        self, conn: asyncpg.Connection, projection: Projection, rows: Sequence[asyncpg.Record]
    ) -> list[Recorded]:
        wanted = [r for r in rows if self._interested(projection, r["topic"])]
        missing = [r["notification_id"] for r in wanted if r["state"] is None]
        late = dict(await conn.fetch(_STATES, missing)) if missing else {}
        return [
            Recorded(
                r["notification_id"],
                r["topic"],
                decode_event(
                    r["topic"],
                    r["state"] if r["state"] is not None else late[r["notification_id"]],
                    originator_id=r["originator_id"],
                    originator_version=r["originator_version"],
                ),
            )
            for r in wanted
        ]

    async def rebuild(
        self,
        name: str,
        *,
        progress: Callable[[int, int], Awaitable[None] | None] | None = None,
        wait: float = 0.0,
    ) -> int:
        """Drop the projection's tables and fold the whole log again, as its leader.

        ``wait`` seconds for a running worker to give up the lead (it is queued behind the
        holder, so a worker reconnecting meanwhile cannot jump ahead); 0 fails at once."""
        projection = self.projections[name]
        async with self.pool.acquire() as lock_conn:
            if not await _take_lock(lock_conn, _lock_key(name), wait=wait):
                raise RuntimeError(
                    f"projection {name!r} is being folded by a running worker; stop the server "
                    "before rebuilding"
                )
            try:
                return await self._rebuild_locked(projection, progress)
            finally:
                await lock_conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(name))

    async def _rebuild_locked(
        self, projection: Projection, progress: Callable[[int, int], Awaitable[None] | None] | None
    ) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            for table in projection.tables:
                await conn.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
            await conn.execute(projection.ddl)
            await conn.execute(
                "INSERT INTO projection_positions (name, position) VALUES ($1, 0)"
                " ON CONFLICT (name) DO UPDATE SET position = 0",
                projection.name,
            )
        head, done = await self.head(), 0
        async with self.pool.acquire() as conn:
            while read := await self._fold_batch(conn, projection):
                done += read
                if progress is not None and (result := progress(done, head)) is not None:
                    await result
        return done

    async def run(self, stop: asyncio.Event, *, database_url: str) -> None:
        """Lead what can be led, fold on every wake-up, until ``stop`` is set.

        A lost connection (database restarted, session killed) drops the leader locks with it;
        the worker reconnects and competes for leadership again instead of dying.
        """
        while not stop.is_set():
            try:
                await self._lead_and_fold(stop, database_url)
            except Exception:
                # Whatever broke (a lost session, a driver in a bad state, a bug in a fold),
                # the worker must outlive it: the positions did not move past what committed,
                # so reconnecting and folding again loses nothing and repeats nothing.
                log.warning("projection worker failed; reconnecting", exc_info=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)

    async def _lead_and_fold(self, stop: asyncio.Event, database_url: str) -> None:
        listener = await asyncpg.connect(database_url)
        leaders = await asyncpg.connect(database_url)
        led: set[str] = set()
        try:
            await listener.add_listener(EVENTS_TABLE, lambda *_: self._wake.set())
            while not stop.is_set():
                await self._acquire_leadership(leaders, led)
                self._wake.clear()
                for name in sorted(led):
                    await self._catch_up_logged(name)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
        finally:
            await _close_quietly(listener)
            await _close_quietly(leaders)

    async def _acquire_leadership(self, conn: asyncpg.Connection, led: set[str]) -> None:
        # The locks live as long as this session: a cheap round trip proves it is still alive
        # before folding as a leader (a dead session means another worker may lead now).
        await conn.execute("SELECT 1")
        for name in self.projections.keys() - led:
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", _lock_key(name)):
                led.add(name)

    async def _catch_up_logged(self, name: str) -> None:
        try:
            await self.catch_up(name)
        except (asyncpg.InterfaceError, OSError):
            raise  # the connection is gone: let run() reconnect
        except Exception as error:
            # One projection failing on an event must not stall the others: its batch rolled
            # back, its position is unchanged (its lag shows at /health), and the next wake-up
            # retries it.
            log.exception("projection %s failed to fold a batch; will retry", name)
            await self.pool.execute(
                "UPDATE projection_positions SET last_error = $2, failed_at = now() "
                "WHERE name = $1",
                name,
                f"{type(error).__name__}: {error}"[:500],
            )


async def _take_lock(conn: asyncpg.Connection, key: int, *, wait: float) -> bool:
    if wait <= 0:
        return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))
    try:
        async with conn.transaction():  # SET LOCAL: the timeout ends with this transaction
            await conn.execute(f"SET LOCAL lock_timeout = '{int(wait * 1000)}ms'")
            await conn.execute("SELECT pg_advisory_lock($1)", key)
    except asyncpg.LockNotAvailableError:
        return False
    return True


async def _close_quietly(conn: asyncpg.Connection) -> None:
    with contextlib.suppress(asyncpg.InterfaceError, OSError):
        await conn.close(timeout=2)
