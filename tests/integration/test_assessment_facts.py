"""Stories of the facts behind scores: voided visits take their count back, a case closed
after an SLA breach is not on time and costs a penalty, a reopened case takes its closing back,
and the default scheme is there for a new township."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from backend.bootstrap import Container
from backend.services.assessment_admin import ensure_default_scheme
from backend.services.reference import ensure_default_categories
from backend.workers.sla_scheduler import LOCK_KEY, run_once
from events.holidays import CHINA_TZ
from tests.support.households import household_body, register, unique_no
from tests.support.world import World
from tests.unit.events.test_case import Clock

Client = httpx.AsyncClient
Json = dict[str, Any]


@pytest.fixture(scope="module")
async def scheduler_paused(container: Container) -> AsyncIterator[None]:
    """Hold the scheduler's leader lock: these stories run the SLA pass themselves."""
    conn = await asyncpg.connect(container.database_url)
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        yield
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        await conn.close()


@pytest.fixture(scope="module")
async def scheme(client: Client, container: Container, world: World, scheduler_paused: None) -> str:
    await ensure_default_categories(container)
    code = f"f-{uuid.uuid4().hex[:10]}"
    body = {
        "code": code, "label": "事实测试", "effective_from": "2026-01-01",
        "indicators": [
            {"indicator": "households_visited", "weight": 40, "full_at": 4},
            {"indicator": "cases_closed_on_time_rate", "weight": 60, "full_at": 100},
            {"indicator": "overdue_cases", "per_occurrence": 5, "cap": 20},
        ],
    }  # fmt: skip
    defined = await client.post("/v1/assessments/schemes", headers=world.headers["admin"],
                                json=body)  # fmt: skip
    assert defined.status_code == 201, defined.text
    return code


def this_quarter() -> str:
    today = datetime.now(CHINA_TZ).date()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


async def ok(response: httpx.Response, status: int = 200) -> Json:
    assert response.status_code == status, response.text
    body: Json = response.json()
    return body


async def visit(client: Client, world: World, household_id: str) -> str:
    body = {"visit_id": str(uuid.uuid4()), "household_id": household_id, "purpose": "routine",
            "method": "in_person", "visited_at": datetime.now(CHINA_TZ).isoformat()}  # fmt: skip
    await ok(await client.post("/v1/visits", headers=world.headers["member_a1"], json=body), 201)
    return str(body["visit_id"])


async def close_case(client: Client, world: World, case_id: str) -> None:
    sup, member = world.headers["supervisor"], world.headers["member_a1"]
    steps: list[tuple[dict[str, str], str, Json]] = [
        (sup, "accept", {}), (sup, "register", {}),
        (sup, "dispatch", {"staff_id": str(world.staff["member_a1"])}),
        (member, "sign-for", {}), (member, "handle", {"result": "已处理"}),
        (sup, "verify", {}), (sup, "close", {}),
    ]  # fmt: skip
    for headers, action, body in steps:
        await ok(await client.post(f"/v1/cases/{case_id}/{action}", headers=headers, json=body))


async def report(client: Client, world: World, *, in_march: bool) -> str:
    case = {"id": str(uuid.uuid4()), "category": "hazard", "title": "隐患", "description": "隐患",
            "location": "甲村"}  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        if in_march:  # an old case: by today's clock its acceptance is long overdue
            Clock().install(patch)
        await ok(await client.post("/v1/cases", headers=world.headers["member_a1"], json=case), 201)
    return str(case["id"])


async def explain(client: Client, world: World, scheme: str) -> Json:
    path = f"/v1/assessments/periods/{this_quarter()}/units/{world.grid_a1}/explain"
    return await ok(await client.get(path, headers=world.headers["supervisor"],
                                     params={"scheme": scheme}))  # fmt: skip


async def test_facts_follow_voids_breaches_and_reopenings(
    client: Client, container: Container, world: World, scheme: str
) -> None:
    # given two households in A1 visited three times, one visit then voided
    member = world.headers["member_a1"]
    h1, h2 = [(await register(client, member, household_body(world.grid_a1,
              household_no=unique_no())))["id"] for _ in range(2)]  # fmt: skip
    await visit(client, world, h1)
    await visit(client, world, h1)
    voided = await visit(client, world, h2)
    await ok(await client.post(f"/v1/visits/{voided}/void", headers=member,
                               json={"reason": "录错户"}))  # fmt: skip
    # and a fresh case closed in time, and a March case closed after its SLA breached
    fresh = await report(client, world, in_march=False)
    old = await report(client, world, in_march=True)
    await run_once(container, now=datetime.now(UTC))
    await close_case(client, world, fresh)
    await close_case(client, world, old)

    # when the grid's score is explained
    lines = {line["indicator"]: line for line in (await explain(client, world, scheme))["lines"]}

    # then only h1 counts as visited: the void took h2's visit back
    households = lines["households_visited"]
    assert (households["value"], households["points"]) == (1.0, 10.0)
    assert sorted(e["value"] for e in households["events"]) == [-1, 1, 1, 1]
    # and one of two closings was on time: 50 % of 60 marks
    rate = lines["cases_closed_on_time_rate"]
    assert (rate["value"], rate["points"]) == (50.0, 30.0)
    closings = {(e["event_id"], e["measure"]) for e in rate["events"]}
    assert closings == {(fresh, "case_closed"), (fresh, "case_closed_on_time"),
                        (old, "case_closed")}  # fmt: skip
    # and each SLA breach of the old case costs 5 marks
    overdue = lines["overdue_cases"]
    assert overdue["events"]
    assert {(e["event_id"], e["event_type"]) for e in overdue["events"]} == {(old, "SlaBreached")}
    assert overdue["points"] == -5.0 * min(4, len(overdue["events"]))

    # when the fresh case is reopened, then its closing no longer counts: 0 of 1 on time
    await ok(await client.post(f"/v1/cases/{fresh}/reopen", headers=world.headers["supervisor"],
                               json={"reason": "群众反映未解决"}))  # fmt: skip
    reopened = {line["indicator"]: line for line in (await explain(client, world, scheme))["lines"]}
    assert (reopened["cases_closed_on_time_rate"]["value"],
            reopened["cases_closed_on_time_rate"]["points"]) == (0.0, 0.0)  # fmt: skip


async def test_the_default_scheme_is_defined_once(
    client: Client, container: Container, world: World
) -> None:
    # given the default scheme ensured twice (a restart), then it has one version
    await ensure_default_scheme(container)
    await ensure_default_scheme(container)
    got = await ok(await client.get("/v1/assessments/schemes/township",
                                    headers=world.headers["supervisor"]))  # fmt: skip
    assert [(v["scheme_version"], v["period_kind"]) for v in got["versions"]] == [(1, "quarter")]
    # and a supervisor ranks with it without naming a scheme
    ranked = await ok(await client.get(f"/v1/assessments/periods/{this_quarter()}/rankings",
                                       headers=world.headers["supervisor"]))  # fmt: skip
    assert {i["subject_id"] for i in ranked["items"]} == {str(world.village_a),
                                                          str(world.village_b)}  # fmt: skip


async def test_work_counts_where_it_was_done_even_after_the_grid_moves(
    client: Client, world: World, scheme: str
) -> None:
    # given a visit in grid A2 while it belongs to village A
    head, sup = world.headers["head_a"], world.headers["supervisor"]
    household = (await register(client, head, household_body(world.grid_a2,
                                household_no=unique_no())))["id"]  # fmt: skip
    body = {"household_id": household, "purpose": "routine", "method": "in_person",
            "visited_at": datetime.now(CHINA_TZ).isoformat()}  # fmt: skip
    before = {"visit_id": str(uuid.uuid4()), **body}
    await ok(await client.post("/v1/visits", headers=head, json=before), 201)
    # when the grid is moved to village B and visited again
    moved = await client.post(f"/v1/grid-units/{world.grid_a2}/move",
                              headers=world.headers["admin"],
                              json={"new_parent_id": str(world.village_b)})  # fmt: skip
    assert moved.status_code == 200, moved.text
    after = {"visit_id": str(uuid.uuid4()), **body}
    await ok(await client.post("/v1/visits", headers=sup, json=after), 201)

    # then the first visit stays with village A and the second goes to village B
    async def visit_ids(village: Any) -> set[str]:
        path = f"/v1/assessments/periods/{this_quarter()}/units/{village}/explain"
        got = await ok(await client.get(path, headers=sup, params={"scheme": scheme}))
        return {e["event_id"] for e in got["lines"][0]["events"]}

    assert before["visit_id"] in await visit_ids(world.village_a)
    assert after["visit_id"] not in await visit_ids(world.village_a)
    assert after["visit_id"] in await visit_ids(world.village_b)
    assert before["visit_id"] not in await visit_ids(world.village_b)
