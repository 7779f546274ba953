"""Many aggregates rebuilt from the event log in one query.

The library's repository reads one aggregate per round trip; a phone's push batch names dozens
of households, and one read each was half of the batch's time. This rebuilds them the way the
repository does (all stored events in version order, no snapshots: the log keeps none) from a
single asyncpg query.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

import asyncpg
from eventsourcing.application import project_aggregate

from storage.eventstore import EVENTS_TABLE
from storage.mapper import decode_event

__all__ = ["load_aggregates"]

_EVENTS_OF = (
    f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE} "
    "WHERE originator_id = ANY($1::uuid[]) ORDER BY originator_id, originator_version"
)


async def load_aggregates(pool: asyncpg.Pool, aggregate_ids: Iterable[UUID]) -> dict[UUID, Any]:
    """The current state of each id that has events; ids without any are left out."""
    events: dict[UUID, list[Any]] = {}
    for r in await pool.fetch(_EVENTS_OF, list(aggregate_ids)):
        events.setdefault(r["originator_id"], []).append(
            decode_event(r["topic"], r["state"], originator_id=r["originator_id"],
                         originator_version=r["originator_version"])
        )  # fmt: skip
    return {
        aggregate_id: project_aggregate(None, stored) for aggregate_id, stored in events.items()
    }
