"""Running commands against aggregates: load, decide, save, and wait for the read models.

The event store is synchronous, so each command runs in a worker thread. Saves are optimistic:
when another writer got in first (a version conflict), the command is decided again on the
fresh state, because aggregates validate against what they see and a stale decision must not
be written. After a save the caller's projections are woken and awaited, so the response can
be built from read models that already include the write (read-your-writes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from anyio import to_thread
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from backend.bootstrap import Container
from backend.errors import ApiError

__all__ = ["CommandRunner"]

A = TypeVar("A", bound=Aggregate)
log = logging.getLogger(__name__)
_ATTEMPTS = 3


class CommandRunner:
    def __init__(self, container: Container) -> None:
        self.container = container

    async def create(self, build: Callable[[], Aggregate], *, what: str) -> int:
        """Save a new aggregate; an id already taken (codes are never reused) is 40911."""

        def run() -> int:
            aggregate = build()
            try:
                return self._save(aggregate)
            except RecordConflictError:
                raise ApiError(40911, f"{what} already exists", id=str(aggregate.id)) from None

        return await self._settle(await to_thread.run_sync(run))

    async def change(
        self, cls: type[A], aggregate_id: UUID, decide: Callable[[A], Any], *, what: str
    ) -> tuple[A, int]:
        """Load, apply ``decide`` (which raises domain errors), save; retried on a race."""

        def run() -> tuple[A, int]:
            for _ in range(_ATTEMPTS - 1):
                aggregate = self._load(cls, aggregate_id, what)
                decide(aggregate)
                try:
                    return aggregate, self._save(aggregate)
                except RecordConflictError:
                    continue
            last = self._load(cls, aggregate_id, what)
            decide(last)
            return last, self._save(last)

        aggregate, position = await to_thread.run_sync(run)
        return aggregate, await self._settle(position)

    async def load(self, cls: type[A], aggregate_id: UUID, *, what: str) -> A:
        return await to_thread.run_sync(lambda: self._load(cls, aggregate_id, what))

    def _load(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        try:
            aggregate: object = self.container.event_log.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise ApiError(40400, f"no such {what}", id=str(aggregate_id)) from None
        if not isinstance(aggregate, cls):
            raise ApiError(40400, f"no such {what}", id=str(aggregate_id))
        return aggregate

    def _save(self, *aggregates: Aggregate) -> int:
        """Save in one transaction (blocking: call from a worker thread); 0 if nothing changed."""
        recordings = self.container.event_log.save(*aggregates)
        if not recordings:
            return 0  # nothing changed (an idempotent no-op)
        return int(recordings[-1].notification.id)

    save_blocking = _save
    """For services that decide across several aggregates in their own thread function."""

    async def settle(self, position: int) -> int:
        """Wake the projections and wait until they include ``position`` (read-your-writes)."""
        return await self._settle(position)

    async def _settle(self, position: int) -> int:
        if position:
            self.container.runner.wake()
            if not await self.container.runner.wait_for(position, timeout=10.0):
                # The write is durable; only the read models lag. Say so rather than fail.
                log.warning("read models did not reach position %s within 10 s", position)
        return position
