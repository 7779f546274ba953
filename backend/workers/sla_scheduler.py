"""The SLA scheduler: yellow warnings, red breaches and escalation one level up the tree.

Every ``interval`` seconds one process (the holder of an advisory lock for that tick) reads the
open, running cases from the case board, asks :func:`events.sla.due_events` what is due *by the
server clock* (device clocks never enter) and records it through the aggregate as the system.
Yellow is a warning; red is a breach plus an escalation to the holder unit's parent (a town,
level 1, has no parent: breach only). The aggregate decides again on its own, fresh clock and
returns False for a threshold already recorded, so a repeated or concurrent tick adds nothing.
A failure on one case is logged and the others go on; a failed tick never ends the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from backend.bootstrap import Container
from backend.services.commands import CommandRunner
from backend.services.reference import sla_policy, working_calendar
from events.case import Case
from events.holidays import WorkingCalendar
from events.meta import system_meta
from events.sla import SlaPolicy, due_events
from projections import case_board, grid_tree
from projections.case_board_fold import sla_clock_of

__all__ = ["DEFAULT_INTERVAL", "SchedulerReport", "run_forever", "run_once", "tick"]

log = logging.getLogger(__name__)
DEFAULT_INTERVAL = 30.0
LOCK_KEY = int.from_bytes(hashlib.sha256(b"worker:sla_scheduler").digest()[:7], "big")
_META = system_meta("sla-scheduler")


@dataclass
class SchedulerReport:
    """What one pass recorded (case ids), for tests and the log."""

    checked: int = 0
    warned: list[UUID] = field(default_factory=list)
    breached: list[UUID] = field(default_factory=list)
    escalated: dict[UUID, UUID] = field(default_factory=dict)  # case -> unit escalated to
    failed: list[UUID] = field(default_factory=list)


@dataclass(frozen=True)
class _Pass:
    container: Container
    now: datetime
    policy: SlaPolicy
    calendar: WorkingCalendar


async def run_once(container: Container, *, now: datetime) -> SchedulerReport:
    """One pass over every running case at server time ``now`` (no leader lock: see tick)."""
    run = _Pass(container, now, await sla_policy(container), await working_calendar(container))
    report = SchedulerReport()
    for doc in await case_board.open_unsuspended(container.pool):
        report.checked += 1
        if not due_events(sla_clock_of(doc), now, run.policy, run.calendar):
            continue
        try:
            await _record(run, doc, report)
        except Exception:
            log.exception("SLA scheduler failed on case %s; continuing", doc["id"])
            report.failed.append(UUID(doc["id"]))
    return report


async def _record(run: _Pass, doc: dict[str, Any], report: SchedulerReport) -> None:
    case_id, holder = UUID(doc["id"]), UUID(doc["holder_unit_id"])
    unit = await grid_tree.get_unit(run.container.pool, holder)
    parent: UUID | None = unit["parent_id"] if unit else None
    outcome: dict[str, bool] = {}

    def decide(case: Case) -> None:
        outcome.clear()  # a retried decision starts afresh
        if case.holder_unit_id != holder:
            return  # reported up meanwhile: the next pass judges the new holder
        for stage, threshold in due_events(case.sla_clock(), run.now, run.policy, run.calendar):
            if threshold == "yellow":
                outcome["warned"] = case.warn_sla(stage, case.stage_seq, meta=_META)
                continue
            outcome["breached"] = case.breach_sla(stage, case.stage_seq, meta=_META)
            if outcome["breached"] and parent is not None:
                outcome["escalated"] = case.escalate(parent, stage, case.stage_seq, meta=_META)

    await CommandRunner(run.container).change(Case, case_id, decide, what="case")
    if outcome.get("warned"):
        report.warned.append(case_id)
    if outcome.get("breached"):
        report.breached.append(case_id)
    if outcome.get("escalated") and parent is not None:
        report.escalated[case_id] = parent


async def tick(container: Container, *, now: datetime) -> SchedulerReport | None:
    """A pass if this process wins the tick's leader lock; None when another one holds it."""
    async with container.pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
            return None
        try:
            return await run_once(container, now=now)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)


async def run_forever(
    container: Container,
    stop: asyncio.Event,
    *,
    interval: float = DEFAULT_INTERVAL,
    now: Callable[[], datetime] | None = None,
) -> None:
    """Tick every ``interval`` seconds until ``stop`` is set; never dies on an error. ``now``
    defaults to the container's clock."""
    while not stop.is_set():
        try:
            report = await tick(container, now=(now or container.clock.now)())
            if report and (report.warned or report.breached or report.failed):
                log.info("SLA scheduler: %s", report)
        except Exception:
            # A lost database session or a bug in one pass must not end the scheduler.
            log.exception("SLA scheduler tick failed; retrying next interval")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
