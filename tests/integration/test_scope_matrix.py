"""Scope matrix: the grid member of B1 acting on grid A1's resources, for every operation.

Operations come from the app's OpenAPI schema, so a new endpoint shows up here by itself: the
coverage test fails until the table (tests/support/scope_matrix/table.py) says how to call it.
Each call must be refused (403/404) without a word of A1 in the answer; list operations
answer, but with nothing of A1, while an in-scope caller does see A1 through the same call (so
the check has teeth). test_authorisation_matrix.py runs the same table for every role.
"""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar

from backend.bootstrap import Container
from tests.support.scope_matrix import (
    EXEMPT,
    KIND,
    PATH_PARAMS,
    TABLE,
    WORDS,
    Place,
    ResourceSet,
    build_set,
    call,
    leaked,
    operations,
)
from tests.support.scope_matrix.sets import png
from tests.support.world import World

Client = httpx.AsyncClient


def _png() -> bytes:
    """A valid 1×1 PNG, different per call (test_case_api, test_case_board and the evidence
    bundle e2e test import it from here)."""
    return png("A1")


@pytest.fixture(scope="module")
async def a1(client: Client, container: Container, world: World) -> ResourceSet:
    """A household in A1 with a recorded conflict, a photo, field work and a case of A1."""
    return await build_set(client, container, world, WORDS["a1"], label="A1", place=Place())


async def call_as(
    client: Client, app: Litestar, operation_id: str, who: str, world: World, a: ResourceSet
) -> httpx.Response:
    operation = operations(app)[operation_id]
    return await call(
        client, operation, operation_id, headers=world.headers[who], world=world, target=a,
        who=who,
    )  # fmt: skip


def test_the_table_covers_every_operation_of_the_schema(app: Litestar) -> None:
    # given the operations the app serves
    served = {op: (o.method, o.template, o.path_names) for op, o in operations(app).items()}

    # then every one that is not about logging in or health has a scope case, and no case
    # names an operation the app no longer serves
    assert set(served) - EXEMPT == set(TABLE)
    # and every path parameter is one the matrix knows how to fill with an A1 resource
    unknown = {op: names for op, (_, _, names) in served.items() if set(names) - PATH_PARAMS}
    assert unknown == {}
    # and every collection read (GET without a path parameter) is checked as a list
    collections = {op for op, (m, _, names) in served.items() if m == "GET" and not names}
    assert collections - EXEMPT == {op for op, kind in KIND.items() if kind == "list"}


@pytest.mark.parametrize("operation_id", sorted(TABLE))
async def test_member_b1_gets_nothing_of_grid_a1(
    client: Client, app: Litestar, world: World, a1: ResourceSet, operation_id: str
) -> None:
    # given the grid member of B1 and one operation aimed at A1's resources
    kind = KIND.get(operation_id, "act")

    # when member B1 calls it
    response = await call_as(client, app, operation_id, "member_b1", world, a1)

    # then an action is refused and a list answers; either way nothing of A1 is in the body
    if kind == "act":
        assert response.status_code in (403, 404), response.text
        assert response.json()["errcode"] in (40300, 40301, 40400), response.text
    else:
        assert response.status_code < 300, response.text
    assert leaked(response, a1) == []


@pytest.mark.parametrize("operation_id", sorted(op for op, kind in KIND.items() if kind == "list"))
async def test_lists_do_show_a1_to_an_in_scope_caller(
    client: Client, app: Litestar, world: World, a1: ResourceSet, operation_id: str
) -> None:
    # given a list operation, when the supervisor (scope: the town) calls it
    response = await call_as(client, app, operation_id, "supervisor", world, a1)

    # then A1 is visible to them, so the check above would have caught a leak
    assert response.status_code == 200, response.text
    assert leaked(response, a1) != []


async def test_nothing_of_a1_changed_after_the_matrix(
    client: Client, world: World, a1: ResourceSet
) -> None:
    # given the matrix has run (this test comes after it in the module)
    admin = world.headers["admin"]

    # then A1's household, staff member and grid are as they were
    household = (await client.get(f"/v1/households/{a1.household_id}", headers=admin)).json()
    assert (household["version"], household["status"], household["grid_id"]) == (
        a1.household_version,
        "active",
        a1.unit_id,
    )
    assert [c["resolved"] for c in household["conflicts"]] == [False]
    staff = (await client.get(f"/v1/staff/{a1.staff_id}", headers=admin)).json()
    assert (staff["status"], staff["role"], staff["scope_unit_id"]) == (
        "active",
        "grid_member",
        a1.unit_id,
    )
    unit = (await client.get(f"/v1/grid-units/{a1.unit_id}", headers=admin)).json()
    assert (unit["name"], unit["status"], unit["parent_id"]) == (
        "甲村第一网格",
        "active",
        str(world.village_a),
    )
    me = await client.get("/v1/me", headers=world.headers["member_a1"])
    assert me.status_code == 200, me.text
    # and A1's field work too: the visit, the mediation, the award and the points
    visit = (await client.get(f"/v1/visits/{a1.visit_id}", headers=admin)).json()
    assert (visit["voided"], visit["amendments"]) == (False, 0)
    mediation = (await client.get(f"/v1/mediations/{a1.mediation_id}", headers=admin)).json()
    assert (mediation["state"], mediation["sessions"]) == ("open", [])
    award = (await client.get(f"/v1/awards/{a1.award_id}", headers=admin)).json()
    assert award["state"] == "approved"
    points = f"/v1/points-accounts/household/{a1.household_id}"
    account = (await client.get(points, headers=admin)).json()
    assert (account["balance"], len(account["history"])) == (4, 2)
