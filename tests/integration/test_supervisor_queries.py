"""Supervisor queries: visit coverage by grid and rankings of grids and members, as of a day,
within the caller's scope, paged."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support.households import household_body, register
from tests.support.world import World

Client = httpx.AsyncClient
Json = dict[str, Any]
AS_OF = {"as_of": "2026-03-31", "period": "quarter"}


@pytest.fixture(scope="module")
async def field_work(client: Client, world: World) -> None:
    """Q1 2026: A1 has 4 households, 3 visited by member A1; A2 has 2, none visited; B1 has
    1, visited by member B1."""
    admin = world.headers["admin"]
    plan = ((world.grid_a1, "member_a1", 3, 4), (world.grid_a2, None, 0, 2),
            (world.grid_b1, "member_b1", 1, 1))  # fmt: skip
    for grid, visitor, visited, count in plan:
        for n in range(count):
            hid = (
                await register(client, admin, household_body(grid, effective_from="2026-01-05"))
            )["id"]
            if visitor is not None and n < visited:
                body = {
                    "visit_id": str(uuid4()), "household_id": hid, "purpose": "routine",
                    "method": "in_person", "visited_at": "2026-02-01T10:00:00+08:00",
                }  # fmt: skip
                response = await client.post(
                    "/v1/visits", headers=world.headers[visitor], json=body
                )
                assert response.status_code == 201, response.text


async def test_coverage_by_grid_for_the_town(
    client: Client, world: World, field_work: None
) -> None:
    # when the supervisor asks for grid coverage in Q1
    response = await client.get("/v1/coverage/grids", headers=world.headers["supervisor"],
                                params=AS_OF)  # fmt: skip

    # then every grid of the town answers with households, visited and the rate
    assert response.status_code == 200, response.text
    page = response.json()
    rows = {r["unit_id"]: (r["households"], r["visited"], r["coverage"]) for r in page["items"]}
    assert rows == {
        str(world.grid_a1): (4, 3, 0.75),
        str(world.grid_a2): (2, 0, 0.0),
        str(world.grid_b1): (1, 1, 1.0),
    }
    assert (page["total"], page["period_start"], page["as_of"]) == (3, "2026-01-01", "2026-03-31")


async def test_rankings_put_the_best_covered_first(
    client: Client, world: World, field_work: None
) -> None:
    # when the supervisor ranks grids, and members, by coverage
    grids = (await client.get("/v1/rankings/grids", headers=world.headers["supervisor"],
                              params=AS_OF)).json()  # fmt: skip
    members = (await client.get("/v1/rankings/members", headers=world.headers["supervisor"],
                                params=AS_OF)).json()  # fmt: skip

    # then B1 (100%) leads A1 (75%) ahead of A2 (0%); members the same way
    assert [(r["unit_id"], r["rank"]) for r in grids["items"]] == [
        (str(world.grid_b1), 1), (str(world.grid_a1), 2), (str(world.grid_a2), 3)
    ]  # fmt: skip
    assert [(r["staff_id"], r["rank"], r["coverage"]) for r in members["items"]] == [
        (str(world.staff["member_b1"]), 1, 1.0), (str(world.staff["member_a1"]), 2, 0.75)
    ]  # fmt: skip


async def test_a_village_head_sees_only_the_village(
    client: Client, world: World, field_work: None
) -> None:
    response = await client.get("/v1/rankings/grids", headers=world.headers["head_a"], params=AS_OF)
    assert response.status_code == 200, response.text
    assert {r["unit_id"] for r in response.json()["items"]} == {
        str(world.grid_a1),
        str(world.grid_a2),
    }
    # and narrowing to a unit outside the village is refused
    outside = await client.get("/v1/coverage/grids", headers=world.headers["head_a"],
                               params={"unit_id": str(world.village_b)})  # fmt: skip
    assert (outside.status_code, outside.json()["errcode"]) == (403, 40301)


async def test_paging_past_the_end_is_an_empty_page(
    client: Client, world: World, field_work: None
) -> None:
    params = {**AS_OF, "limit": 2, "offset": 10}
    response = await client.get(
        "/v1/coverage/grids", headers=world.headers["supervisor"], params=params
    )
    assert response.status_code == 200, response.text
    assert (response.json()["total"], response.json()["items"]) == (3, [])
    first = await client.get("/v1/coverage/grids", headers=world.headers["supervisor"],
                             params={**AS_OF, "limit": 2})  # fmt: skip
    assert len(first.json()["items"]) == 2


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"offset": -1},
                                    {"limit": "x"}, {"period": "year"}, {"level": 9}])  # fmt: skip
async def test_invalid_paging_and_periods_are_40001(
    client: Client, world: World, params: Json
) -> None:
    response = await client.get(
        "/v1/rankings/members", headers=world.headers["supervisor"], params=params
    )
    if "level" in params:
        response = await client.get(
            "/v1/rankings/grids", headers=world.headers["supervisor"], params=params
        )
    assert (response.status_code, response.json()["errcode"]) == (400, 40001), response.text


async def test_a_future_day_is_40070(client: Client, world: World) -> None:
    response = await client.get("/v1/coverage/grids", headers=world.headers["supervisor"],
                                params={"as_of": "2999-01-01"})  # fmt: skip
    assert (response.status_code, response.json()["errcode"]) == (400, 40070)
