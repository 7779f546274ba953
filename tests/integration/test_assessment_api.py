"""Assessments on a seeded township: a supervisor ranks the villages for the quarter, signs
it off child first, drills a score down to its events and exports the ranking; later events
show up as post-lock adjustments, never as a changed score."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from backend.bootstrap import Container
from backend.services.reference import ensure_default_categories
from events.holidays import CHINA_TZ
from tests.support.households import household_body, register, unique_no
from tests.support.world import World

Client = httpx.AsyncClient
Json = dict[str, Any]


def this_quarter() -> str:
    # Events get the server's time (the phone's only within 14 days), so they land now.
    today = datetime.now(CHINA_TZ).date()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


@pytest.fixture(scope="module")
async def scheme(client: Client, world: World) -> str:
    code = f"t-{uuid.uuid4().hex[:10]}"
    body = {
        "code": code, "label": "测试考核办法", "effective_from": "2026-01-01",
        "indicators": [
            {"indicator": "visits", "weight": 60, "full_at": 8, "zero_below": 0},
            {"indicator": "cases_reported", "weight": 40, "full_at": 2, "zero_below": 0},
            {"indicator": "overdue_cases", "per_occurrence": 5, "cap": 10},
        ],
    }  # fmt: skip
    defined = await client.post("/v1/assessments/schemes", headers=world.headers["admin"],
                                json=body)  # fmt: skip
    assert defined.status_code == 201, defined.text
    assert defined.json()["versions"][0]["scheme_version"] == 1
    return code


async def visit(client: Client, headers: dict[str, str], household_id: str) -> str:
    body = {"visit_id": str(uuid.uuid4()), "household_id": household_id,
            "purpose": "routine", "method": "in_person",
            "visited_at": datetime.now(CHINA_TZ).isoformat()}  # fmt: skip
    response = await client.post("/v1/visits", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return str(body["visit_id"])


@pytest.fixture(scope="module")
async def seeded(client: Client, container: Container, world: World) -> Json:
    """Member A1: 3 visits and a case in grid A1; member B1: one visit in grid B1."""
    await ensure_default_categories(container)
    a1, b1 = (world.headers[k] for k in ("member_a1", "member_b1"))
    ha = (await register(client, a1, household_body(world.grid_a1, household_no=unique_no())))["id"]
    hb = (await register(client, b1, household_body(world.grid_b1, household_no=unique_no())))["id"]
    visits = [await visit(client, a1, ha) for _ in range(3)]
    case = {"id": str(uuid.uuid4()), "category": "hazard", "title": "电线老化",
            "description": "门前电线老化", "location": "甲村"}  # fmt: skip
    reported = await client.post("/v1/cases", headers=a1, json=case)
    assert reported.status_code == 201, reported.text
    await visit(client, b1, hb)
    return {"household_a": ha, "visits": visits, "case": case["id"]}


def url(period: str, rest: str) -> str:
    return f"/v1/assessments/periods/{period}/{rest}"


async def sign(client: Client, headers: dict[str, str], period: str, unit: Any,
               scheme: str) -> httpx.Response:  # fmt: skip
    return await client.post(url(period, f"units/{unit}/sign-off"), headers=headers,
                             json={"scheme": scheme})  # fmt: skip


async def test_supervisor_ranks_signs_off_drills_down_and_exports(
    client: Client, world: World, scheme: str, seeded: Json
) -> None:
    period, sup, head = this_quarter(), world.headers["supervisor"], world.headers["head_a"]
    # given the seeded quarter, when the supervisor ranks the villages
    ranked = await client.get(url(period, "rankings"), headers=sup,
                              params={"scheme": scheme, "level": "village"})  # fmt: skip
    assert ranked.status_code == 200, ranked.text
    items = ranked.json()["items"]
    # then village A (3 visits, 1 case over 2 grids) leads village B (1 visit, 1 grid)
    assert [i["subject_id"] for i in items] == [str(world.village_a), str(world.village_b)]
    # visits 3 of 16 → 60 × 3/16 = 11.25; cases 1 of 4 → 10 · B: 60 × 1/8 = 7.5
    assert [(i["rank"], i["score"]) for i in items] == [(1, 21.25), (2, 7.5)]

    # when the village is signed before its grids, then 409 40975 and nothing is locked
    early = await sign(client, sup, period, world.village_a, scheme)
    assert (early.status_code, early.json()["errcode"]) == (409, 40975), early.text
    assert sorted(early.json()["unsigned"]) == sorted([str(world.grid_a1), str(world.grid_a2)])
    missing = await client.get(url(period, f"units/{world.village_a}/sign-off"), headers=sup)
    assert missing.status_code == 404

    # when grids, villages and then the town are signed (the grid head signs village A)
    for unit in (world.grid_a1, world.grid_a2):
        assert (await sign(client, head, period, unit, scheme)).status_code == 201
    town_early = await sign(client, sup, period, world.town, scheme)
    assert (town_early.status_code, town_early.json()["errcode"]) == (409, 40975)
    assert (await sign(client, sup, period, world.grid_b1, scheme)).status_code == 201
    for unit, who in ((world.village_a, head), (world.village_b, sup)):
        assert (await sign(client, who, period, unit, scheme)).status_code == 201
    town = await sign(client, sup, period, world.town, scheme)
    assert town.status_code == 201, town.text
    # the town is three grids: 4 visits of 24 → 10, 1 case of 6 → 6.67
    assert town.json()["score"] == 16.67
    # then signing again is 409 40976
    again = await sign(client, head, period, world.grid_a1, scheme)
    assert (again.status_code, again.json()["errcode"]) == (409, 40976)

    # when the supervisor drills village A's score down
    explained = await client.get(url(period, f"units/{world.village_a}/explain"), headers=sup,
                                 params={"scheme": scheme})  # fmt: skip
    assert explained.status_code == 200, explained.text
    why = explained.json()
    # then the lines add up to the frozen score and name the events behind them
    assert why["locked"] is True
    assert why["score"] == 21.25 == sum(line["points"] for line in why["lines"])
    visits_line = why["lines"][0]
    assert (visits_line["indicator"], visits_line["value"], visits_line["full_at"]) == (
        "visits", 3.0, 16,
    )  # fmt: skip
    assert sorted(e["event_id"] for e in visits_line["events"]) == sorted(seeded["visits"])
    assert all(e["position"] <= why["lock"]["through_position"] for e in visits_line["events"])
    (case_event,) = why["lines"][1]["events"]
    assert (case_event["event_id"], case_event["event_type"]) == (seeded["case"], "Reported")
    assert why["adjustments"] == []

    # when member A1 visits again after the lock
    late = await visit(client, world.headers["member_a1"], seeded["household_a"])
    after = (await client.get(url(period, f"units/{world.village_a}/explain"), headers=sup,
                              params={"scheme": scheme})).json()  # fmt: skip
    # then the locked score stands and the visit is a post-lock adjustment with its delta
    assert after["score"] == 21.25
    assert [e["event_id"] for e in after["adjustments"]] == [late]
    assert after["adjusted_score"] == 25.0
    assert after["adjustment_delta"] == 3.75

    # when the supervisor exports the ranking
    exported = await client.get(url(period, "rankings.csv"), headers=sup,
                                params={"scheme": scheme, "reason": "季度考核公示"})  # fmt: skip
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["rank"], r["name"], r["score"], r["signed_off"], r["post_lock_delta"])
            for r in rows] == [("1", "甲村", "21.25", "True", "3.75"),
                               ("2", "乙村", "7.50", "True", "0.00")]  # fmt: skip


async def test_members_see_only_their_own_score(
    client: Client, world: World, scheme: str, seeded: Json
) -> None:
    period, a1 = this_quarter(), world.headers["member_a1"]
    own = await client.get(url(period, f"members/{world.staff['member_a1']}/explain"),
                           headers=a1, params={"scheme": scheme})  # fmt: skip
    assert own.status_code == 200, own.text
    mine = own.json()
    # frozen with grid A1's sign-off (3 visits, 1 case); the later visit is an adjustment
    assert (mine["subject_kind"], mine["locked"], mine["lock"]["signed_off_unit_id"]) == (
        "member", True, str(world.grid_a1),
    )  # fmt: skip
    assert mine["score"] == sum(line["points"] for line in mine["lines"]) == 42.5
    assert [e["event_type"] for e in mine["adjustments"]] == ["Recorded"]
    params: dict[str, str | int] = {"scheme": scheme, "events_per_line": 2}
    short = await client.get(url(period, f"members/{world.staff['member_a1']}/explain"),
                             headers=a1, params=params)  # fmt: skip
    visits = short.json()["lines"][0]
    assert (visits["event_count"], len(visits["events"])) == (3, 2)
    other = await client.get(url(period, f"members/{world.staff['member_b1']}/explain"),
                             headers=a1, params={"scheme": scheme})  # fmt: skip
    assert other.status_code == 403
    ranking = await client.get(url(period, "rankings"), headers=a1, params={"scheme": scheme})
    assert ranking.status_code == 403
    head_view = await client.get(
        url(period, f"members/{world.staff['member_b1']}/explain"),
        headers=world.headers["head_a"], params={"scheme": scheme},
    )  # fmt: skip
    assert (head_view.status_code, head_view.json()["errcode"]) == (403, 40301)


@pytest.mark.parametrize("period", ["2026-Q5", "2026-13", "2026-W28-29", "someday"])
async def test_invalid_periods_are_400_with_the_assessment_errcode(
    client: Client, world: World, scheme: str, period: str
) -> None:
    response = await client.get(url(period, "rankings"), headers=world.headers["supervisor"],
                                params={"scheme": scheme})  # fmt: skip
    assert (response.status_code, response.json()["errcode"]) == (400, 40075)


async def test_export_needs_a_reason_and_is_audited(
    client: Client, container: Container, world: World, scheme: str
) -> None:
    period, sup = this_quarter(), world.headers["supervisor"]
    blank = await client.get(url(period, "rankings.csv"), headers=sup,
                             params={"scheme": scheme, "reason": "   "})  # fmt: skip
    assert (blank.status_code, blank.json()["errcode"]) == (400, 40077)
    missing = await client.get(url(period, "rankings.csv"), headers=sup, params={"scheme": scheme})
    assert (missing.status_code, missing.json()["errcode"]) == (400, 40077)
    before = await container.pool.fetchval(
        "SELECT count(*) FROM export_audit WHERE staff_id = $1", world.staff["supervisor"]
    )
    params = {"scheme": scheme, "reason": "考核会", "level": "grid"}
    done = await client.get(url(period, "rankings.csv"), headers=sup, params=params)
    assert done.status_code == 200, done.text
    assert done.headers["content-type"] == "text/csv; charset=utf-8"
    row = await container.pool.fetchrow(
        "SELECT what, reason, row_count FROM export_audit WHERE staff_id = $1 "
        "ORDER BY at DESC LIMIT 1", world.staff["supervisor"],
    )  # fmt: skip
    assert dict(row) == {"what": "assessment_ranking", "reason": "考核会", "row_count": 3}
    after = await container.pool.fetchval(
        "SELECT count(*) FROM export_audit WHERE staff_id = $1", world.staff["supervisor"]
    )
    assert after == before + 1


async def test_schemes_are_admin_only_and_validated(
    client: Client, world: World, scheme: str
) -> None:
    body = {"label": "改", "indicators": [{"indicator": "visits", "weight": 90, "full_at": 5}]}
    bad = await client.post(f"/v1/assessments/schemes/{scheme}/revisions",
                            headers=world.headers["admin"], json=body)  # fmt: skip
    assert (bad.status_code, bad.json()["errcode"]) == (400, 40076)
    body["indicators"][0]["weight"] = 100  # type: ignore[index]
    refused = await client.post(f"/v1/assessments/schemes/{scheme}/revisions",
                                headers=world.headers["supervisor"], json=body)  # fmt: skip
    assert refused.status_code == 403
    read = await client.get(f"/v1/assessments/schemes/{scheme}", headers=world.headers["member_a1"])
    versions = read.json()["versions"]
    assert [v["scheme_version"] for v in versions] == [1]


async def test_a_quarterly_scheme_does_not_score_a_month(
    client: Client, world: World, scheme: str
) -> None:
    month = datetime.now(CHINA_TZ).strftime("%Y-%m")
    response = await client.get(url(month, "rankings"), headers=world.headers["supervisor"],
                                params={"scheme": scheme})  # fmt: skip
    assert (response.status_code, response.json()["errcode"]) == (404, 40475)
