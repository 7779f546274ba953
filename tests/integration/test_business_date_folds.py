"""Read models fold a date out of an event's time in the business zone they are built with.

A projection cannot ask the server's clock while it folds (a rebuild must give the same rows),
so the zone is given when it is built (``projections.all_projections``, from
``GRIDLEDGER_BUSINESS_TIMEZONE``). Here the same events — work done at 23:30 and at 00:30
Beijing either side of a quarter's end — are folded into scratch schemas by projections built
for Beijing and for UTC: in Beijing the 00:30 work belongs to 1 July and the third quarter, in
UTC to 30 June and the second. Points keep the day their account booked them on either way.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from backend.bootstrap import Container
from events.grid import GridUnit
from events.mediation import Mediation, Mediator, Party
from events.meta import EventMeta, system_meta
from events.points import PointsAccount
from events.visit import Visit, VisitFindings
from projections.assessment_facts import AssessmentFactsProjection
from projections.engine import Projection, Recorded
from projections.member_profile import MemberProfileProjection

SHANGHAI, UTC_ZONE = ZoneInfo("Asia/Shanghai"), ZoneInfo("UTC")
LATE = datetime(2026, 6, 30, 23, 30, tzinfo=SHANGHAI)
EARLY = datetime(2026, 7, 1, 0, 30, tzinfo=SHANGHAI)
BOOKED_ON = date(2026, 7, 3)  # the day the points account books the credit on


def _recorded(aggregates: Sequence[Aggregate], at: datetime, first: int) -> list[Recorded]:
    """The aggregates' events as the log would hold them, stored a minute after ``at``."""
    events = [e for a in aggregates for e in a.collect_events()]
    stamp = at + timedelta(minutes=1)
    return [
        Recorded(first + i, get_topic(type(e)), dataclasses.replace(e, timestamp=stamp))
        for i, e in enumerate(events)
    ]


def _work(member: UUID, at: datetime, town: UUID) -> list[Aggregate]:
    """A visit and a mediation by ``member`` at ``at`` (the phone's and the server's time)."""
    meta = EventMeta(actor_id=member, role="grid_member", device_id="folds-test",
                     client_time=at, scope_unit_ids=(town,))  # fmt: skip
    visit = Visit.record(
        visit_id=uuid4(), household_id=uuid4(), grid_id=town, purpose="routine",
        method="in_person", visited_at=at, findings=VisitFindings(notes="夜访"), meta=meta,
    )  # fmt: skip
    mediation = Mediation.open(
        mediation_id=uuid4(), case_id=None,
        parties=(Party(kind="household", ref_id=uuid4(), role="applicant"),
                 Party(kind="household", ref_id=uuid4(), role="respondent")),
        mediators=(Mediator(staff_id=member, name="日界网格员", kind="grid_member"),),
        meta=meta,
    )  # fmt: skip
    return [visit, mediation]


@pytest.fixture(scope="module")
def log() -> tuple[UUID, list[Recorded]]:
    """A town, its member's work at 23:30 and at 00:30 Beijing, and a credit to the member."""
    admin, member = system_meta("folds-test"), uuid4()
    code = f"{random.randrange(10**8, 10**9)}000"
    town = GridUnit.create(
        code=code, name="日界镇", level=1, parent_id=None, parent_level=None, parent_code=None,
        effective_from=date(2026, 1, 1), meta=admin,
    )  # fmt: skip
    account = PointsAccount.open("staff", member, meta=admin)
    account.credit(uuid4(), "visit_bonus", 5, on=BOOKED_ON, daily_cap=None, total_cap=None,
                   meta=admin)  # fmt: skip
    batch = _recorded([town], LATE - timedelta(days=1), 1)
    batch += _recorded(_work(member, LATE, town.id), LATE, 10)
    batch += _recorded(_work(member, EARLY, town.id), EARLY, 20)
    batch += _recorded([account], EARLY, 30)
    return member, batch


async def _fold(
    conn: asyncpg.Connection, projection: Projection, batch: Sequence[Recorded], query: str
) -> list[tuple[Any, ...]]:
    """Fold ``batch`` into a fresh schema and answer ``query`` there."""
    schema = f"folds_{projection.name}"
    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    await conn.execute(f"SET search_path TO {schema}, public")
    try:
        await conn.execute(projection.ddl)
        async with conn.transaction():
            await projection.apply(conn, [r for r in batch if projection.interested(r.topic)])
        return sorted(tuple(r) for r in await conn.fetch(query))
    finally:
        await conn.execute("RESET search_path")
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.mark.parametrize(
    ("zone", "periods"),
    [
        (SHANGHAI, [("2026-06", 1), ("2026-07", 1), ("2026-Q2", 1), ("2026-Q3", 1)]),
        (UTC_ZONE, [("2026-06", 2), ("2026-Q2", 2)]),
    ],
    ids=["Asia/Shanghai", "UTC"],
)
async def test_assessment_periods_are_the_business_days_of_the_zone_built_with(
    container: Container, log: tuple[UUID, list[Recorded]], zone: ZoneInfo, periods: list[Any]
) -> None:
    # given visits at 23:30 on 30 June and at 00:30 on 1 July, Beijing time
    _, batch = log
    conn = await asyncpg.connect(container.database_url)
    try:
        # when the assessment facts are folded by a projection built for ``zone``
        totals = await _fold(
            conn, AssessmentFactsProjection(zone), batch,
            "SELECT period_id, total FROM assessment_totals WHERE measure = 'visit' "
            "AND period_id NOT LIKE '%W%'",
        )  # fmt: skip
    finally:
        await conn.close()
    # then the month and quarter each visit counts for are those of its day in that zone
    assert totals == periods


@pytest.mark.parametrize(
    ("zone", "late_day", "early_day"),
    [
        (SHANGHAI, date(2026, 6, 30), date(2026, 7, 1)),
        (UTC_ZONE, date(2026, 6, 30), date(2026, 6, 30)),
    ],
    ids=["Asia/Shanghai", "UTC"],
)
async def test_member_facts_are_dated_in_the_zone_built_with_and_points_as_booked(
    container: Container,
    log: tuple[UUID, list[Recorded]],
    zone: ZoneInfo,
    late_day: date,
    early_day: date,
) -> None:
    # given the member's mediations at 23:30 and at 00:30 Beijing, and a credit booked later
    member, batch = log
    conn = await asyncpg.connect(container.database_url)
    try:
        # when the member profile model is folded by a projection built for ``zone``
        facts = await _fold(
            conn, MemberProfileProjection(zone), batch,
            f"SELECT kind, day FROM member_facts WHERE staff_id = '{member}'",
        )  # fmt: skip
    finally:
        await conn.close()
    # then each mediation falls on its day in that zone; the points on the day they were booked
    assert facts == sorted(
        [("mediation_opened", late_day), ("mediation_opened", early_day), ("points", BOOKED_ON)]
    )
