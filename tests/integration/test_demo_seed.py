"""Seeding the demo township on the real services: once, through the aggregates, complete.

The demo uses fixed codes (town 330782109000), so it is seeded in this module only.
"""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from backend.bootstrap import Container
from backend.demo import TOWN_CODE, DemoTownship, generate_township
from backend.services.auth import auth_service
from backend.services.demo_seed import demo_staff_id, seed_demo_township
from backend.services.ledger_import import ImportOutcome
from events.grid import GridUnit

TOWN_ID = GridUnit.id_for_code(TOWN_CODE)


@pytest.fixture(scope="module")
def township() -> DemoTownship:
    return generate_township()


@pytest.fixture(scope="module")
async def seeded(container: Container) -> ImportOutcome | None:
    return await seed_demo_township(container)


async def counts(container: Container) -> dict[str, object]:
    """What the read models hold under the demo town."""
    pool = container.pool
    levels = await pool.fetch(
        "SELECT level, count(*) AS n FROM grid_units WHERE path @> ARRAY[$1]::uuid[] "
        "GROUP BY level ORDER BY level",
        TOWN_ID,
    )
    households = await pool.fetchval(
        "SELECT count(*) FROM household_files h JOIN grid_units u ON u.id = h.grid_id "
        "WHERE u.path @> ARRAY[$1]::uuid[]",
        TOWN_ID,
    )
    roles = await pool.fetch(
        "SELECT s.role, count(*) AS n FROM staff s JOIN grid_units u ON u.id = s.scope_unit_id "
        "WHERE u.path @> ARRAY[$1]::uuid[] AND s.status = 'active' GROUP BY s.role",
        TOWN_ID,
    )
    return {
        "levels": {r["level"]: r["n"] for r in levels},
        "households": int(households),
        "roles": {r["role"]: r["n"] for r in roles},
    }


async def test_the_demo_township_is_seeded_with_its_tree_staff_and_households(
    container: Container, township: DemoTownship, seeded: ImportOutcome | None
) -> None:
    # given an empty database, when the demo township is seeded (fixture)
    # then the import created every generated household without errors
    assert seeded is not None
    assert (seeded.created, seeded.unchanged, seeded.differs) == (len(township.households), 0, 0)
    assert seeded.errors == []

    # and the read models hold 1 town, 12 villages, 72 grids, ~6,000 households, ~100 staff
    held = await counts(container)
    assert held["levels"] == {1: 1, 2: 12, 3: 72}
    assert held["households"] == len(township.households)
    assert 5_500 <= len(township.households) <= 6_500
    roles = held["roles"]
    assert isinstance(roles, dict)
    assert roles == dict(Counter(s.role for s in township.staff))
    assert 90 <= sum(roles.values()) <= 110
    assert (roles["grid_head"], roles["supervisor"], roles["admin"]) == (12, 1, 1)


async def test_a_demo_grid_member_sees_exactly_their_grids_households(
    client: httpx.AsyncClient, container: Container, township: DemoTownship, seeded: object
) -> None:
    # given a demo grid member, logged in by the stable demo staff id
    member = next(s for s in township.staff if s.role == "grid_member")
    expected = sorted(
        h.household_no for h in township.households if h.grid_code == member.scope_code
    )
    pair = await auth_service(container).dev_login(demo_staff_id(member.key), "demo-phone")
    headers = {"Authorization": f"Bearer {pair.access_token}"}

    # when the member lists households
    response = await client.get("/v1/households", headers=headers, params={"limit": 200})

    # then the list is exactly the households of the member's grid, with full names
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(expected)
    assert [i["household_no"] for i in page["items"]] == expected[:200]
    assert {i["grid_id"] for i in page["items"]} == {str(GridUnit.id_for_code(member.scope_code))}
    first = next(h for h in township.households if h.household_no == expected[0])
    assert sorted(p["name"] for p in page["items"][0]["persons"]) == sorted(
        p.name for p in first.persons
    )


async def test_the_demo_has_a_fortnight_of_field_work_that_differs_between_members(
    container: Container, township: DemoTownship, seeded: ImportOutcome | None
) -> None:
    # given the seeded demo township
    assert seeded is not None
    pool = container.pool

    # then visits were recorded by the grid members themselves, within the last 12 days
    visits = await pool.fetch(
        "SELECT visitor_id, visitor_role, count(*) AS n, min(visited_at) AS first "
        "FROM visit_log v JOIN grid_units u ON u.id = v.grid_id "
        "WHERE u.path @> ARRAY[$1]::uuid[] GROUP BY visitor_id, visitor_role",
        TOWN_ID,
    )
    members = {demo_staff_id(s.key) for s in township.staff if s.role == "grid_member"}
    assert {r["visitor_id"] for r in visits} <= members
    assert {r["visitor_role"] for r in visits} == {"grid_member"}
    assert sum(r["n"] for r in visits) >= len(township.households) // 3
    counts_per_member = sorted(r["n"] for r in visits)
    assert counts_per_member[0] < counts_per_member[-1]  # coverage differs: rankings mean something
    oldest = min(r["first"] for r in visits)
    newest_allowed = await pool.fetchval("SELECT now() - interval '13 days'")
    assert oldest > newest_allowed

    # and cases were reported, some of them walked through the whole loop to closure
    states = dict(
        await pool.fetch(
            "SELECT c.status, count(*) FROM case_board c JOIN grid_units u "
            "ON u.id = c.holder_unit_id WHERE u.path @> ARRAY[$1]::uuid[] GROUP BY c.status",
            TOWN_ID,
        )
    )
    assert states.get("closed", 0) > 0
    assert sum(states.values()) > states["closed"]


async def test_seeding_again_returns_none_and_changes_nothing(
    container: Container, seeded: ImportOutcome | None
) -> None:
    # given the seeded demo township
    assert seeded is not None
    head = await container.runner.head()
    before = await counts(container)

    # when it is seeded a second time
    again = await seed_demo_township(container)

    # then nothing happens: no outcome, no event, the same counts
    assert again is None
    assert await container.runner.head() == head
    assert await counts(container) == before
