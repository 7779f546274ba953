"""Seeding: the demo township, and the first town + admin of a real deployment.

Both write through the aggregates with the system as actor, so the demo data is as real as
anything a user enters: events in the log, projections folded from them.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from anyio import to_thread
from eventsourcing.application import AggregateNotFoundError

from backend.bootstrap import Container
from backend.demo import DemoTownship, generate_township
from backend.services.assessment_admin import ensure_default_scheme
from backend.services.demo_activity import demo_field_work
from backend.services.ledger_import import ImportOutcome, LedgerImportService
from events.grid import GridUnit
from events.meta import system_meta
from events.staff import Staff

__all__ = ["DEMO_EPOCH", "demo_staff_id", "seed_demo_township"]

log = logging.getLogger(__name__)
DEMO_EPOCH = date(2026, 1, 1)
_DEMO_NAMESPACE = uuid5(NAMESPACE_URL, "https://gridledger.invalid/demo")
_CHUNK = 500  # aggregates per save: one transaction, bounded memory in the driver


def demo_staff_id(key: str) -> UUID:
    """Stable ids, so a demo login can name a staff member across restarts."""
    return uuid5(_DEMO_NAMESPACE, key)


async def seed_demo_township(container: Container, *, seed: int = 2026) -> ImportOutcome | None:
    """Seed once: a second call finds the town and changes nothing."""
    township = await to_thread.run_sync(lambda: generate_township(seed=seed))
    town = township.units[0]
    if await _exists(container, GridUnit.id_for_code(town.code)):
        log.info("demo township already present")
        return None
    position = await to_thread.run_sync(lambda: _save_tree_and_staff(container, township))
    container.runner.wake()
    await container.runner.wait_for(position, timeout=60.0)
    grids = {
        u.code: (GridUnit.id_for_code(u.code), u.level) for u in township.units if u.level >= 3
    }
    outcome = await LedgerImportService(container).import_households(
        township.households, meta=system_meta("demo-seed"), grids=grids
    )
    await _seed_field_work(container, township, seed=seed)
    await ensure_default_scheme(container)
    return outcome


async def _seed_field_work(container: Container, township: DemoTownship, *, seed: int) -> None:
    """The last fortnight of visits and cases, saved in chunks like the ledger import."""
    now = datetime.now(UTC)
    aggregates = list(
        demo_field_work(
            township, staff_id=demo_staff_id, namespace=_DEMO_NAMESPACE, now=now, seed=seed
        )
    )

    def save() -> int:
        position = 0
        for start in range(0, len(aggregates), _CHUNK):
            recordings = container.event_log.save(*aggregates[start : start + _CHUNK])
            position = int(recordings[-1].notification.id) if recordings else position
        return position

    position = await to_thread.run_sync(save)
    log.info("demo field work: %d visits and cases", len(aggregates))
    container.runner.wake()
    await container.runner.wait_for(position, timeout=120.0)


async def _exists(container: Container, aggregate_id: UUID) -> bool:
    def probe() -> bool:
        try:
            container.event_log.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    return await to_thread.run_sync(probe)


def _save_tree_and_staff(container: Container, township: DemoTownship) -> int:
    meta = system_meta("demo-seed")
    units: dict[str, GridUnit] = {}
    for u in township.units:  # parents come before their children
        parent = units.get(u.parent_code) if u.parent_code else None
        units[u.code] = GridUnit.create(
            code=u.code,
            name=u.name,
            level=u.level,
            parent_id=parent.id if parent else None,
            parent_level=parent.level if parent else None,
            parent_code=parent.code if parent else None,
            effective_from=DEMO_EPOCH,
            meta=meta,
        )
    staff = [
        Staff.appoint(
            name=s.name,
            work_phone=s.work_phone,
            role=s.role,
            scope_unit_id=units[s.scope_code].id,
            effective_from=DEMO_EPOCH,
            meta=meta,
            staff_id=demo_staff_id(s.key),
        )
        for s in township.staff
    ]
    recordings = container.event_log.save(*units.values(), *staff)
    return int(recordings[-1].notification.id)
