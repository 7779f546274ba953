"""Rankings read per-period totals, not facts: the totals always equal the facts they sum, a
ranking scores every subject exactly as its explanation does, and a fact row folded twice is
counted once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
import pytest

from backend.bootstrap import Container
from backend.services.reference import ensure_default_categories
from events.assessment_period import parse_period
from events.assessment_scoring import tally
from events.holidays import CHINA_TZ
from projections import assessment_register, assessment_totals
from projections.assessment_totals import add_totals, period_ids, periods_sql, totals_ddl
from tests.support.households import household_body, register, unique_no
from tests.support.world import World

Client = httpx.AsyncClient
Json = dict[str, Any]
EVERY_INDICATOR = [
    {"indicator": "visits", "weight": 20, "full_at": 6, "zero_below": 1},
    {"indicator": "households_visited", "weight": 20, "full_at": 3},
    {"indicator": "cases_reported", "weight": 15, "full_at": 3},
    {"indicator": "cases_closed_on_time_rate", "weight": 15, "full_at": 100},
    {"indicator": "mediations_succeeded", "weight": 10, "full_at": 2},
    {"indicator": "points_earned", "weight": 20, "full_at": 50},
    {"indicator": "overdue_cases", "per_occurrence": 5, "cap": 10},
    {"indicator": "points_deducted", "per_occurrence": 1, "cap": 10},
]


async def ok(response: httpx.Response, status: int = 200) -> Json:
    assert response.status_code == status, response.text
    body: Json = response.json()
    return body


async def visit(client: Client, headers: dict[str, str], household_id: str) -> str:
    body = {"visit_id": str(uuid.uuid4()), "household_id": household_id, "purpose": "routine",
            "method": "in_person", "visited_at": datetime.now(CHINA_TZ).isoformat()}  # fmt: skip
    await ok(await client.post("/v1/visits", headers=headers, json=body), 201)
    return str(body["visit_id"])


@pytest.fixture(scope="module")
async def scheme(client: Client, world: World) -> str:
    code = f"s-{uuid.uuid4().hex[:10]}"
    body = {"code": code, "label": "汇总测试", "effective_from": "2026-01-01",
            "indicators": EVERY_INDICATOR}  # fmt: skip
    await ok(await client.post("/v1/assessments/schemes", headers=world.headers["admin"],
                               json=body), 201)  # fmt: skip
    return code


@pytest.fixture(scope="module")
async def worked(client: Client, container: Container, world: World) -> None:
    """A1: two households, three visits (one voided, one household visited twice) and a case;
    B1: one visit in grid B1."""
    await ensure_default_categories(container)
    a1, b1 = (world.headers[k] for k in ("member_a1", "member_b1"))
    homes = [(await register(client, a1, household_body(world.grid_a1,
             household_no=unique_no())))["id"] for _ in range(2)]  # fmt: skip
    for home in (homes[0], homes[0], homes[1]):
        last = await visit(client, a1, home)
    await ok(await client.post(f"/v1/visits/{last}/void", headers=a1, json={"reason": "记错了"}))
    case = {"id": str(uuid.uuid4()), "category": "hazard", "title": "隐患", "description": "隐患",
            "location": "甲村"}  # fmt: skip
    await ok(await client.post("/v1/cases", headers=a1, json=case), 201)
    hb = await register(client, b1, household_body(world.grid_b1, household_no=unique_no()))
    await visit(client, b1, hb["id"])


def subjects(world: World) -> tuple[list[UUID], list[UUID]]:
    units = [world.town, world.village_a, world.village_b, world.grid_a1, world.grid_a2,
             world.grid_b1]  # fmt: skip
    return units, list(world.staff.values())


async def test_totals_equal_a_tally_of_the_facts_for_every_period_kind(
    container: Container, world: World, worked: None
) -> None:
    # given the work above (and whatever other stories recorded), for today's three periods
    units, staff = subjects(world)
    for period_id in period_ids(datetime.now(CHINA_TZ).date()):
        period = parse_period(period_id)
        for kind, ids in (("unit", units), ("member", staff)):
            # when the totals are read for every subject at once
            _, tallies = await assessment_totals.read_tallies(
                container.pool, period_id=period_id, kind=kind, subject_ids=ids
            )
            # then each equals the tally of the subject's facts in the period
            for subject in ids:
                _, facts = await assessment_register.read_facts(
                    container.pool, start_at=period.starts_at(container.clock.zone),
                    end_at=period.ends_at(container.clock.zone),
                    unit_id=subject if kind == "unit" else None,
                    member_id=subject if kind == "member" else None,
                )  # fmt: skip
                assert tallies[subject] == tally(facts), (period_id, kind, subject)
    _, a1 = await assessment_totals.read_tallies(
        container.pool, period_id=period.id, kind="unit", subject_ids=[world.grid_a1]
    )
    assert a1[world.grid_a1].households_visited >= 1


async def test_a_ranking_scores_every_subject_as_its_explanation_does(
    client: Client, world: World, scheme: str, worked: None
) -> None:
    sup = world.headers["supervisor"]
    quarter = period_ids(datetime.now(CHINA_TZ).date())[0]
    for level in ("village", "grid", "member"):
        # when the supervisor ranks a level
        ranked = await ok(await client.get(f"/v1/assessments/periods/{quarter}/rankings",
                          headers=sup, params={"scheme": scheme, "level": level}))  # fmt: skip
        assert ranked["items"], level
        # then each subject's score is the one its explanation (read from the facts) gives
        for item in ranked["items"]:
            kind = "units" if item["subject_kind"] == "unit" else "members"
            path = f"/v1/assessments/periods/{quarter}/{kind}/{item['subject_id']}/explain"
            explained = await ok(await client.get(path, headers=sup, params={"scheme": scheme}))
            assert item["score"] == explained["score"], (level, item, explained["lines"])


async def test_a_fact_row_already_stored_is_not_counted_again(
    container: Container, world: World, worked: None
) -> None:
    quarter = period_ids(datetime.now(CHINA_TZ).date())[0]
    async with container.pool.acquire() as conn:
        stored = await conn.fetchrow(
            "SELECT * FROM assessment_facts WHERE unit_path @> ARRAY[$1]::uuid[] LIMIT 1",
            world.grid_a1,
        )
        assert stored is not None
        before = await conn.fetch("SELECT * FROM assessment_totals ORDER BY 1, 2, 3, 4")
        tx = conn.transaction()
        await tx.start()
        try:
            # when a batch offers a row whose (position, measure) is stored already
            await add_totals(conn, [tuple(stored.values())], container.clock.zone)
            # then the totals do not change
            after = await conn.fetch("SELECT * FROM assessment_totals ORDER BY 1, 2, 3, 4")
        finally:
            await tx.rollback()
    assert [dict(r) for r in after] == [dict(r) for r in before]
    assert quarter in {r["period_id"] for r in before}


async def test_facts_folded_before_the_totals_existed_are_summed_once_at_start(
    container: Container, world: World, worked: None
) -> None:
    tables = ("assessment_totals", "assessment_visit_totals")
    async with container.pool.acquire() as conn:
        folded = {t: await dump(conn, t) for t in tables}
        tx = conn.transaction()
        await tx.start()
        try:
            # given a database upgraded from before the totals: facts, no totals
            await conn.execute("DELETE FROM assessment_totals; DELETE FROM assessment_visit_totals")
            # when the projection's tables are ensured at start (twice: a restart)
            await conn.execute(totals_ddl(container.clock.zone))
            await conn.execute(totals_ddl(container.clock.zone))
            # then the totals are those the fold keeps
            backfilled = {t: await dump(conn, t) for t in tables}
        finally:
            await tx.rollback()
    assert backfilled == folded
    assert folded["assessment_visit_totals"]


async def dump(conn: Any, table: str) -> list[tuple[Any, ...]]:
    rows = await conn.fetch(f"SELECT * FROM {table}")
    return sorted(tuple(str(v) for v in r.values()) for r in rows)


async def test_the_backfill_names_the_periods_of_a_moment_as_the_fold_does(
    container: Container,
) -> None:
    # given moments either side of Beijing midnight on every day of 2020..2033 (53-week years
    # 2020 and 2026 among them)
    query = (
        "SELECT f.occurred_at, array_agg(p.id ORDER BY p.id) AS ids FROM (SELECT "
        "generate_series('2019-12-31 15:59:59+00'::timestamptz, '2033-12-31 16:00:00+00', "
        "interval '12 hours') + s * interval '1 second' AS occurred_at "
        f"FROM (VALUES (0), (1)) AS v(s)) AS f {periods_sql(container.clock.zone)} "
        "GROUP BY f.occurred_at"
    )
    rows = await container.pool.fetch(query)
    # then the SQL names the quarter, month and bi-week period_ids() gives the Beijing day
    assert len(rows) > 20000
    for row in rows:
        expected = sorted(period_ids(row["occurred_at"].astimezone(CHINA_TZ).date()))
        assert row["ids"] == expected, row["occurred_at"]
