"""Grid-member profiles as of past days: the assignment history and household moves decide
whose households count, visits and closures are credited to the member who did them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from backend.bootstrap import Container
from backend.services.reference import ensure_default_categories
from tests.integration.test_awards_api import define_rule, propose
from tests.integration.test_case_api import done, report
from tests.support.households import household_body, register
from tests.support.world import World

Client = httpx.AsyncClient
Json = dict[str, Any]


async def visit(client: Client, world: World, household_id: str, when: str) -> None:
    body = {
        "visit_id": str(uuid4()), "household_id": household_id, "purpose": "routine",
        "method": "in_person", "visited_at": f"{when}T10:00:00+08:00",
    }  # fmt: skip
    response = await client.post("/v1/visits", headers=world.headers["member_a1"], json=body)
    assert response.status_code == 201, response.text


async def profile(client: Client, world: World, who: str, **params: Any) -> httpx.Response:
    return await client.get(
        f"/v1/members/{world.staff['member_a1']}/profile", headers=world.headers[who],
        params=params,
    )  # fmt: skip


@pytest.fixture(scope="module")
async def quarter(client: Client, world: World) -> dict[str, str]:
    """Q1 2026: H1, H2 in A1 and H3 in A2 from 5 January; member A1 visits H1 on 20 January
    and H2 on 10 February; the member moves to A2 on 15 February, H2 moves to A2 on 1 March."""
    admin = world.headers["admin"]
    ids = {}
    for name, grid in (("h1", world.grid_a1), ("h2", world.grid_a1), ("h3", world.grid_a2)):
        body = household_body(grid, effective_from="2026-01-05")
        ids[name] = (await register(client, admin, body))["id"]
    await visit(client, world, ids["h1"], "2026-01-20")
    await visit(client, world, ids["h2"], "2026-02-10")
    moved = await client.post(
        f"/v1/staff/{world.staff['member_a1']}/reassign", headers=admin,
        json={"role": "grid_member", "scope_unit_id": str(world.grid_a2),
              "effective_from": "2026-02-15"},
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    household_moved = await client.post(
        f"/v1/households/{ids['h2']}/move", headers=admin,
        json={"grid_id": str(world.grid_a2), "effective_from": "2026-03-01"},
    )  # fmt: skip
    assert household_moved.status_code == 200, household_moved.text
    return ids


async def test_before_the_move_the_member_answers_for_grid_a1(
    client: Client, world: World, quarter: dict[str, str]
) -> None:
    # when the supervisor looks at member A1 as of 14 February, for the quarter
    response = await profile(client, world, "supervisor", as_of="2026-02-14", period="quarter")

    # then the member held A1 with H1 and H2, visited both: full coverage
    assert response.status_code == 200, response.text
    p = response.json()
    assert (p["period_start"], p["period_end"]) == ("2026-01-01", "2026-02-14")
    assert p["assignment"]["scope_unit_id"] == str(world.grid_a1)
    assert (p["households_in_scope"], p["households_visited"], p["coverage"]) == (2, 2, 1.0)
    assert p["visits"] == {"week": 1, "month": 1, "quarter": 2}


async def test_after_the_move_the_member_answers_for_grid_a2(
    client: Client, world: World, quarter: dict[str, str]
) -> None:
    # when the grid head of village A looks as of the quarter's last day
    response = await profile(client, world, "head_a", as_of="2026-03-31", period="quarter")

    # then the member holds A2 with H3 and (moved in on 1 March) H2: one of two visited
    assert response.status_code == 200, response.text
    p = response.json()
    assert p["assignment"]["scope_unit_id"] == str(world.grid_a2)
    assert (p["households_in_scope"], p["households_visited"], p["coverage"]) == (2, 1, 0.5)
    # and the quarter shows both assignments, the first ending the day the second began
    spans = [(a["scope_unit_id"], a["effective_from"], a["effective_to"]) for a in p["assignments"]]
    assert spans == [
        (str(world.grid_a1), "2026-01-01", "2026-02-15"),
        (str(world.grid_a2), "2026-02-15", None),
    ]
    # and a month window counts only March: no visits there
    march = (await profile(client, world, "head_a", as_of="2026-03-31", period="month")).json()
    assert (march["visits"]["month"], march["households_visited"], march["coverage"]) == (0, 0, 0.0)


async def test_a_case_the_member_handled_counts_as_closed_on_time(
    client: Client, container: Container, world: World, quarter: dict[str, str]
) -> None:
    # given a case member A1 reports in A2 today and handles after dispatch, closed at once
    await ensure_default_categories(container)
    member, head = world.headers["member_a1"], world.headers["head_a"]
    before = (await profile(client, world, "member_a1")).json()
    case = await report(client, member, unit_id=str(world.grid_a2), photos=[])
    cid = case["id"]
    for action, body in (("accept", {}), ("register", {}),
                         ("dispatch", {"staff_id": str(world.staff["member_a1"])})):  # fmt: skip
        await done(client, head, cid, action, body)
    await done(client, member, cid, "sign-for")
    await done(client, member, cid, "handle", {"result": "已处理"})
    await done(client, head, cid, "verify")
    await done(client, head, cid, "close", {"summary": "办结"})

    # when the member looks at their own profile today
    after = (await profile(client, world, "member_a1")).json()

    # then one more case reported, and one more closed on time
    assert after["cases_reported"] == before["cases_reported"] + 1
    assert after["cases_closed"] == before["cases_closed"] + 1
    assert after["cases_closed_on_time"] == before["cases_closed_on_time"] + 1
    assert after["on_time_rate"] == 1.0


async def test_a_member_sees_only_their_own_profile(client: Client, world: World) -> None:
    # when member B1 asks for member A1's profile, and member A1 for B1's
    by_b1 = await profile(client, world, "member_b1")
    of_b1 = await client.get(
        f"/v1/members/{world.staff['member_b1']}/profile", headers=world.headers["member_a1"]
    )

    # then both are refused by role, with nothing of the other member in the answer
    assert (by_b1.status_code, by_b1.json()["errcode"]) == (403, 40300)
    assert (of_b1.status_code, of_b1.json()["errcode"]) == (403, 40300)
    assert "测试member_a1" not in by_b1.text


async def test_a_head_cannot_see_a_member_outside_their_village(
    client: Client, world: World
) -> None:
    # when village A's head asks for member B1's profile
    response = await client.get(
        f"/v1/members/{world.staff['member_b1']}/profile", headers=world.headers["head_a"]
    )

    # then it is outside their scope
    assert (response.status_code, response.json()["errcode"]) == (403, 40301)


@pytest.mark.parametrize(
    ("params", "errcode"),
    [
        ({"as_of": (date.today() + timedelta(days=3)).isoformat()}, 40070),
        ({"as_of": "1999-12-31"}, 40070),
        ({"period": "fortnight"}, 40001),
        ({"as_of": "2026-02-30"}, 40001),
    ],
)
async def test_invalid_days_and_periods_are_refused(
    client: Client, world: World, params: Json, errcode: int
) -> None:
    response = await profile(client, world, "supervisor", **params)
    assert (response.status_code, response.json()["errcode"]) == (400, errcode), response.text


async def test_an_unknown_staff_member_is_404(client: Client, world: World) -> None:
    response = await client.get(
        f"/v1/members/{uuid4()}/profile", headers=world.headers["supervisor"]
    )
    assert (response.status_code, response.json()["errcode"]) == (404, 40400)


async def test_mediations_points_and_deductions_land_on_the_profile(
    client: Client, container: Container, world: World, quarter: dict[str, str]
) -> None:
    # given member A1 (now in A2) mediates a dispute that fails, and earns 8 points and a
    # deduction of 5 approved by the supervisor
    member, head, sup = (world.headers[k] for k in ("member_a1", "head_a", "supervisor"))
    before = (await profile(client, world, "member_a1")).json()
    other = await register(client, world.headers["admin"], household_body(world.grid_a2))
    mediation_id = str(uuid4())
    opened = await client.post("/v1/mediations", headers=member, json={
        "mediation_id": mediation_id,
        "parties": [
            {"kind": "household", "ref_id": quarter["h3"], "role": "applicant"},
            {"kind": "household", "ref_id": other["id"], "role": "respondent"},
        ],
        "mediators": [{"name": "测试member_a1", "kind": "grid_member",
                       "staff_id": str(world.staff["member_a1"])}],
    })  # fmt: skip
    assert opened.status_code == 201, opened.text
    session = {
        "session_id": str(uuid4()),
        "held_at": "2026-03-05T14:00:00+08:00",
        "notes": "调解未果",
        "attendees": [quarter["h3"], str(world.staff["member_a1"])],
    }
    held = await client.post(f"/v1/mediations/{mediation_id}/sessions", headers=member,
                             json=session)  # fmt: skip
    assert held.status_code == 200, held.text
    concluded = await client.post(
        f"/v1/mediations/{mediation_id}/conclude", headers=member, json={"outcome": "failed"}
    )
    assert concluded.status_code == 200, concluded.text
    for points, trigger in ((8, "manual_commendation"), (-5, "staff_deduction")):
        code = await define_rule(container, trigger, points, target="staff")
        proposal = await propose(client, head, code, str(world.staff["member_a1"]),
                                 owner_kind="staff", source=mediation_id)  # fmt: skip
        assert proposal.status_code == 201, proposal.text
        approved = await client.post(f"/v1/awards/{proposal.json()['id']}/approve", headers=sup)
        assert approved.status_code == 200, approved.text

    # when the member looks at their profile today
    after = (await profile(client, world, "member_a1")).json()

    # then one more mediation joined and failed, 8 more points and 5 more deducted
    assert after["mediations"]["joined"] == before["mediations"]["joined"] + 1
    assert after["mediations"]["failed"] == before["mediations"]["failed"] + 1
    assert after["points"] == before["points"] + 8
    assert after["deductions"] == before["deductions"] + 5
