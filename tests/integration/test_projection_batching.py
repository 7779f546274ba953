"""Batched folds equal folding one event at a time.

``visit_log`` and ``assessment_facts`` write a whole batch with a few statements, keeping the
batch's changes in memory; events of one batch touch the same rows over and over (a visit
recorded, amended and voided; a case reported, breached, closed and reopened; a grid moved
between two visits). Given a log holding all of that, folding it one event per transaction,
in small batches and in one big batch must leave exactly the same tables.

Each fold runs in its own schema (first on the search path, so the projections' own DDL
creates their tables there) and reads the shared log; the live read models are untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import anyio
import asyncpg

from backend.bootstrap import Container
from events.case import Case
from events.case_events import Reporter
from events.grid import GridUnit
from events.household import Household
from events.household_fields import PersonRecord
from events.mediation import Mediation, Mediator, Party
from events.meta import EventMeta, system_meta
from events.points import PointsAccount
from events.sensitivity import PERSON_TAGS
from events.staff import Staff
from events.visit import Visit, VisitFindings
from projections.assessment_facts import AssessmentFactsProjection
from projections.bulk import insert_new_rows
from projections.engine import Projection, Recorded
from projections.household_files import HouseholdFilesProjection
from projections.visit_log import VisitLogProjection
from storage.eventstore import EVENTS_TABLE
from storage.mapper import decode_event
from tests.support.world import World

DAY = date(2026, 1, 5)
BATCH_SIZES = (1, 7, 100_000)
TAG = next(iter(PERSON_TAGS))


def _meta(actor: UUID | None, unit: UUID, *, client_time: datetime | None = None) -> EventMeta:
    return EventMeta(actor_id=actor, role="grid_member", device_id="batching-test",
                     client_time=client_time, scope_unit_ids=(unit,))  # fmt: skip


def _visit(grid: UUID, member: UUID, n: int) -> Visit:
    return Visit.record(
        visit_id=uuid4(), household_id=uuid4(), grid_id=grid, purpose="routine",
        method="in_person", visited_at=datetime.now(UTC) - timedelta(hours=n),
        findings=VisitFindings(notes=f"第{n}次走访"), meta=_meta(member, grid),
    )  # fmt: skip


def _household(grid: UUID, meta: EventMeta) -> Household:
    head = PersonRecord(person_id=uuid4(), name="户主", gender="male", birth_date=None,
                        id_number=None, phone=None, relation="户主")  # fmt: skip
    return Household.register(
        household_no=f"BT{uuid4().hex[:12]}", grid_id=grid, address="村口一号", phone=None,
        persons=(head,), effective_from=DAY, meta=meta,
    )  # fmt: skip


def _case(grid: UUID, member: UUID) -> Case:
    return Case.report(
        case_id=uuid4(), category="environment", title="垃圾堆积", description="三天未清运",
        location="村口", reporter=Reporter(source="grid_member", staff_id=member), level=3,
        holder_unit_id=grid, meta=_meta(member, grid),
    )  # fmt: skip


def _close(case: Case, meta: EventMeta) -> None:
    case.accept(meta=meta)
    case.register(meta=meta)
    case.dispatch(staff_id=meta.actor_id, meta=meta)
    case.sign_for(meta=meta)
    case.handle("已清运", meta=meta)
    case.verify(meta=meta)
    case.close(meta=meta, summary="已办结")


async def _write_mixed_log(container: Container, world: World) -> None:
    """Visits, cases, a mediation, points and tree and staff changes, interleaved."""
    admin, village_a, village_b = system_meta("batching-test"), world.village_a, world.village_b
    grid = GridUnit.create(
        code=world.codes["village_a"] + f"{uuid4().int % 800 + 100:03d}", name="批量网格",
        level=3, parent_id=village_a, parent_level=2, parent_code=world.codes["village_a"],
        effective_from=DAY, meta=admin,
    )  # fmt: skip
    member = Staff.appoint(name="批量网格员", work_phone="13800000001", role="grid_member",
                           scope_unit_id=grid.id, effective_from=DAY, meta=admin)  # fmt: skip
    by_member = _meta(member.id, grid.id)
    visits = [_visit(grid.id, member.id, n) for n in range(12)]
    visits[1].amend(notes="补记一", needs=("低保",), meta=by_member)
    visits[1].amend(notes="补记二", needs=(), meta=by_member)
    visits[1].void("重复录入", meta=by_member)
    visits[2].void("录错户", meta=by_member)
    visits[4].amend(notes="作废前补记", needs=("医疗",), meta=by_member)
    visits[4].void("作废", meta=by_member)
    tagged, later_tagged = _household(grid.id, admin), _household(grid.id, admin)
    (head,) = tagged.persons
    tagged.tag_person(head, TAG, meta=admin)
    tagged.move_to_grid(world.grid_a1, DAY, meta=admin)
    on_time, late = _case(grid.id, member.id), _case(grid.id, member.id)
    _close(on_time, by_member)
    on_time.reopen("问题复发", meta=by_member)
    late._sla_breached(stage="acceptance", stage_seq=0, meta=admin)  # the scheduler's event
    _close(late, by_member)
    await anyio.to_thread.run_sync(lambda: container.event_log.save(
        grid, member, *visits[:6], on_time, late, tagged, later_tagged))  # fmt: skip

    grid.move(village_b, 2, DAY + timedelta(days=1), meta=admin)  # later facts: new path
    member.reassign("grid_member", village_b, DAY + timedelta(days=1), meta=admin)
    later = [_visit(grid.id, member.id, n) for n in range(12, 18)]
    later[0].void("作废", meta=by_member)
    visits[5].void("移网格后作废", meta=by_member)  # counted back under the old attribution
    on_time.dispatch(staff_id=member.id, meta=by_member)
    applicant = uuid4()
    mediation = Mediation.open(
        mediation_id=uuid4(), case_id=None,
        parties=(Party(kind="household", ref_id=applicant, role="applicant"),
                 Party(kind="household", ref_id=uuid4(), role="respondent")),
        mediators=(Mediator(staff_id=member.id, name="批量网格员", kind="grid_member"),),
        meta=by_member,
    )  # fmt: skip
    held = datetime(2024, 1, 3, 9, tzinfo=UTC)
    mediation.record_session(uuid4(), held, "调解", (applicant, member.id), meta=by_member)
    mediation.conclude("agreement", agreement_summary="双方和解", meta=by_member)
    account = PointsAccount.open("staff", member.id, meta=admin)
    credit, deduction = uuid4(), uuid4()
    account.credit(credit, "visit_bonus", 5, on=DAY, daily_cap=None, total_cap=None, meta=admin)
    account.deduct(deduction, "interview", 3, on=DAY + timedelta(days=2), meta=admin)
    account.debit_revocation(credit, on=DAY + timedelta(days=2), meta=admin)
    account.refund_deduction(deduction, on=DAY + timedelta(days=3), meta=admin)
    tagged.untag_person(head, TAG, meta=admin)
    (later_head,) = later_tagged.persons
    later_tagged.tag_person(later_head, TAG, meta=admin)
    await anyio.to_thread.run_sync(lambda: container.event_log.save(
        grid, member, *later, visits[5], on_time, mediation, account, tagged,
        later_tagged))  # fmt: skip


async def _log(conn: asyncpg.Connection, projection: Projection) -> list[Recorded]:
    rows = await conn.fetch(
        f"SELECT notification_id, originator_id, originator_version, topic, state "
        f"FROM {EVENTS_TABLE} ORDER BY notification_id"
    )
    return [
        Recorded(r["notification_id"], r["topic"], decode_event(
            r["topic"], r["state"], originator_id=r["originator_id"],
            originator_version=r["originator_version"]))
        for r in rows
        if projection.interested(r["topic"])
    ]  # fmt: skip


async def _fold(
    conn: asyncpg.Connection, projection: Projection, log: Sequence[Recorded], *, size: int
) -> dict[str, list[str]]:
    """Fold ``log`` in batches of ``size`` (one transaction each) into a fresh schema."""
    schema = f"batching_{projection.name}_{size}"
    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    await conn.execute(f"SET search_path TO {schema}, public")
    try:
        await conn.execute(projection.ddl)
        for start in range(0, len(log), size):
            async with conn.transaction():
                await projection.apply(conn, log[start : start + size])
        return {t: await _dump(conn, f"{schema}.{t}") for t in projection.tables}
    finally:
        await conn.execute("RESET search_path")
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")


async def _dump(conn: asyncpg.Connection, table: str) -> list[str]:
    return sorted(repr(tuple(r)) for r in await conn.fetch(f"SELECT * FROM {table}"))


async def test_a_batch_folds_to_the_same_tables_as_one_event_at_a_time(
    container: Container, world: World
) -> None:
    # given a log where one batch touches the same visits, cases, units and staff many times
    await _write_mixed_log(container, world)
    conn = await asyncpg.connect(container.database_url)
    try:
        projections = (VisitLogProjection(), AssessmentFactsProjection(),
                       HouseholdFilesProjection())  # fmt: skip
        for projection in projections:
            log = await _log(conn, projection)

            # when it is folded one event per transaction, in small batches and all at once
            dumps = [await _fold(conn, projection, log, size=n) for n in BATCH_SIZES]

            # then every fold leaves the same rows, and there are rows of every kind to compare
            one_by_one = dumps[0]
            for size, dump in zip(BATCH_SIZES[1:], dumps[1:], strict=True):
                assert dump == one_by_one, (projection.name, size)
            _assert_the_log_was_rich(projection.name, one_by_one)
    finally:
        await conn.close()


def _assert_the_log_was_rich(name: str, dump: dict[str, list[str]]) -> None:
    text = "\n".join(row for rows in dump.values() for row in rows)
    if name == "household_files":
        assert TAG in text  # tagged in one batch, untagged in a later one (the other stays)
        return
    if name == "visit_log":
        for kept in ("'补记二'", "'重复录入'", "'作废前补记'"):
            assert kept in text, kept
        return
    for measure in ("'visit', ", "'case_closed_on_time'", "'case_overdue'",
                    "'mediation_succeeded'", "'points_earned'", "'points_deducted'"):  # fmt: skip
        assert measure in text, measure
    assert "-1" in text  # voidings, a reopening and a revocation took counts back


async def test_new_rows_that_conflict_are_skipped_as_insert_on_conflict_does(
    container: Container,
) -> None:
    # given a table holding a row, inside a batch's transaction
    conn = await asyncpg.connect(container.database_url)
    try:
        await conn.execute(
            "CREATE TEMP TABLE bulk_probe (id int PRIMARY KEY, label text NOT NULL, pos int)"
        )
        async with conn.transaction():
            await conn.execute("INSERT INTO bulk_probe VALUES (1, 'already there', 0)")

            # when new rows arrive, one of them twice and one clashing with the stored row
            rows = [(2, "first", 1), (1, "clash", 2), (3, "new", 3), (2, "again", 4)]
            await insert_new_rows(conn, "bulk_probe", ("id", "label", "pos"), rows,
                                  order_by="pos")  # fmt: skip

            # then the stored row and the first of each new key are kept, in the same batch
            kept = await conn.fetch("SELECT id, label FROM bulk_probe ORDER BY id")
        assert [tuple(r) for r in kept] == [(1, "already there"), (2, "first"), (3, "new")]
    finally:
        await conn.close()
