"""The staff roster over HTTP on the real services: admins appoint, reassign, relieve and issue
binding codes within their scope; everyone lists and reads the roster inside their own scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx

from backend.bootstrap import Container
from backend.services.auth import auth_service
from tests.support.world import World, build_world

Client = httpx.AsyncClient
Json = dict[str, Any]


def outcome(response: httpx.Response) -> tuple[int, int | None]:
    body = response.json()
    return response.status_code, body.get("errcode") if isinstance(body, dict) else None


async def appoint(
    client: Client, world: World, name: str, role: str, scope: str, **extra: Any
) -> Json:
    response = await client.post(
        "/v1/staff",
        headers=world.headers["admin"],
        json={
            "name": name,
            "work_phone": "13912345678",
            "role": role,
            "scope_unit_id": scope,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    appointed: Json = response.json()
    return appointed


async def roster(client: Client, headers: dict[str, str], **params: Any) -> list[Json]:
    response = await client.get("/v1/staff", headers=headers, params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(page["items"])
    items: list[Json] = page["items"]
    return items


async def test_admin_appoints_a_grid_member_who_then_appears_in_scoped_rosters(
    client: Client, world: World
) -> None:
    # given the town admin
    # when the admin appoints a grid member to grid A2 from a given date
    response = await client.post(
        "/v1/staff",
        headers=world.headers["admin"],
        json={
            "name": "周新民",
            "work_phone": "0579-85123456",
            "role": "grid_member",
            "scope_unit_id": str(world.grid_a2),
            "effective_from": "2026-03-01",
        },
    )

    # then the new staff member is active in A2, not yet bound to WeChat
    assert response.status_code == 201, response.text
    staff = response.json()
    assert {k: staff[k] for k in ("name", "work_phone", "role", "scope_unit_id", "status")} == {
        "name": "周新民",
        "work_phone": "0579-85123456",
        "role": "grid_member",
        "scope_unit_id": str(world.grid_a2),
        "status": "active",
    }
    assert (staff["appointed_on"], staff["relieved_on"], staff["wechat_bound"]) == (
        "2026-03-01",
        None,
        False,
    )
    got = await client.get(f"/v1/staff/{staff['id']}", headers=world.headers["admin"])
    assert got.json() == staff

    # and the village head of A sees him, the grid members of A1 and B1 do not
    head_view = {s["name"] for s in await roster(client, world.headers["head_a"])}
    assert head_view == {"测试head_a", "测试member_a1", "测试mediator_a", "周新民"}
    assert {s["name"] for s in await roster(client, world.headers["member_a1"])} == {
        "测试member_a1"
    }
    assert {s["name"] for s in await roster(client, world.headers["member_b1"])} == {
        "测试member_b1"
    }

    # and the admin's roster filters by role
    members = {s["name"] for s in await roster(client, world.headers["admin"], role="grid_member")}
    assert members == {"测试member_a1", "测试member_b1", "周新民"}


async def test_roster_pages_with_a_stable_total(client: Client, world: World) -> None:
    # given the town's roster (seven staff and whoever earlier tests appointed)
    everyone = await roster(client, world.headers["admin"])

    # when it is read two at a time
    pages = []
    for offset in range(0, len(everyone) + 2, 2):
        response = await client.get(
            "/v1/staff", headers=world.headers["admin"], params={"limit": 2, "offset": offset}
        )
        pages.append(response.json())

    # then the pages tile the roster and every page reports the same total
    assert {p["total"] for p in pages} == {len(everyone)}
    assert [s["id"] for p in pages for s in p["items"]] == [s["id"] for s in everyone]
    assert pages[-1]["items"] == []


async def test_reassign_moves_the_scope_and_role(client: Client, world: World) -> None:
    # given a grid member in A2
    staff = await appoint(client, world, "吴调岗", "grid_member", str(world.grid_a2))

    # when the admin makes him grid head of village B
    response = await client.post(
        f"/v1/staff/{staff['id']}/reassign",
        headers=world.headers["admin"],
        json={"role": "grid_head", "scope_unit_id": str(world.village_b)},
    )

    # then his role and scope change and the version moves on
    assert response.status_code == 200, response.text
    after = response.json()
    assert (after["role"], after["scope_unit_id"], after["version"]) == (
        "grid_head",
        str(world.village_b),
        staff["version"] + 1,
    )
    # and the village head of A no longer sees him, member B1 still does not
    assert "吴调岗" not in {s["name"] for s in await roster(client, world.headers["head_a"])}
    assert "吴调岗" not in {s["name"] for s in await roster(client, world.headers["member_b1"])}


async def test_relieved_staff_are_locked_out_on_their_next_request(
    client: Client, world: World, container: Container
) -> None:
    # given a grid member who is logged in on a phone
    staff = await appoint(client, world, "郑离任", "grid_member", str(world.grid_a2))
    pair = await auth_service(container).dev_login(staff["id"], f"device-{uuid4()}")
    token = {"Authorization": f"Bearer {pair.access_token}"}
    me = await client.get("/v1/me", headers=token)
    assert me.json()["staff_id"] == staff["id"]

    # when the admin relieves him today (the server's business date)
    today = container.clock.today().isoformat()
    response = await client.post(
        f"/v1/staff/{staff['id']}/relieve",
        headers=world.headers["admin"],
        json={"reason": "调离本镇", "effective_from": today},
    )

    # then he is relieved from that date
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["relieved_on"]) == ("relieved", today)
    # and his token is refused on the next request as "staff member relieved"
    after = await client.get("/v1/me", headers=token)
    assert outcome(after) == (401, 40107), after.text
    # and the roster shows him only when relieved staff are asked for
    assert staff["id"] not in {s["id"] for s in await roster(client, world.headers["admin"])}
    with_relieved = await roster(client, world.headers["admin"], include_relieved="true")
    assert staff["id"] in {s["id"] for s in with_relieved}


async def test_an_admin_cannot_relieve_themself(client: Client, world: World) -> None:
    # when the admin relieves their own appointment
    response = await client.post(
        f"/v1/staff/{world.staff['admin']}/relieve",
        headers=world.headers["admin"],
        json={"reason": "试试"},
    )

    # then it is refused and the admin is still active
    assert outcome(response) == (409, 40910)
    me = await client.get(f"/v1/staff/{world.staff['admin']}", headers=world.headers["admin"])
    assert me.json()["status"] == "active"


async def test_a_binding_code_is_returned_once_and_never_shown_again(
    client: Client, world: World
) -> None:
    # given a new grid member
    staff = await appoint(client, world, "冯绑定", "grid_member", str(world.grid_a1))

    # when the admin issues a binding code, and then another
    first = await client.post(
        f"/v1/staff/{staff['id']}/binding-code", headers=world.headers["admin"]
    )
    second = await client.post(
        f"/v1/staff/{staff['id']}/binding-code", headers=world.headers["admin"]
    )

    # then each answer carries a fresh code valid about three days
    assert first.status_code == second.status_code == 201, first.text
    code, again = first.json()["binding_code"], second.json()["binding_code"]
    assert len(code) >= 6
    assert code != again
    expires_at = datetime.fromisoformat(first.json()["expires_at"])
    assert abs(expires_at - (datetime.now(UTC) + timedelta(days=3))) < timedelta(minutes=5)
    # and the code appears nowhere else: not in the staff record, not in the roster
    record = await client.get(f"/v1/staff/{staff['id']}", headers=world.headers["admin"])
    listing = await client.get("/v1/staff", headers=world.headers["admin"])
    for text in (record.text, listing.text):
        assert code not in text
        assert again not in text
    assert record.json()["wechat_bound"] is False


async def test_only_admins_appoint_and_manage(client: Client, world: World) -> None:
    # given a valid appointment into grid A1
    body = {
        "name": "越权者",
        "work_phone": "13912345678",
        "role": "grid_member",
        "scope_unit_id": str(world.grid_a1),
    }

    # when anyone but an admin tries to appoint, reassign, relieve or issue a code
    target = world.staff["member_a1"]
    attempts = {
        role: [
            await client.post("/v1/staff", headers=world.headers[role], json=body),
            await client.post(
                f"/v1/staff/{target}/reassign",
                headers=world.headers[role],
                json={"role": "grid_head", "scope_unit_id": str(world.village_a)},
            ),
            await client.post(
                f"/v1/staff/{target}/relieve", headers=world.headers[role], json={"reason": "x"}
            ),
            await client.post(f"/v1/staff/{target}/binding-code", headers=world.headers[role]),
        ]
        for role in ("member_a1", "head_a", "supervisor", "auditor")
    }

    # then every attempt is 403 40300, and nothing changed
    for role, responses in attempts.items():
        assert [outcome(r) for r in responses] == [(403, 40300)] * 4, role
    assert "越权者" not in {s["name"] for s in await roster(client, world.headers["admin"])}
    member = await client.get(f"/v1/staff/{target}", headers=world.headers["admin"])
    assert (member.json()["role"], member.json()["status"]) == ("grid_member", "active")


async def test_an_admin_cannot_reach_outside_their_town(
    client: Client, world: World, container: Container
) -> None:
    # given another township with its own staff
    other = await build_world(container)
    admin = world.headers["admin"]

    # when our admin appoints into it, reassigns our member into it, or manages its staff
    appoint_there = await client.post(
        "/v1/staff",
        headers=admin,
        json={
            "name": "外镇人",
            "work_phone": "13912345678",
            "role": "grid_member",
            "scope_unit_id": str(other.grid_a1),
        },
    )
    move_there = await client.post(
        f"/v1/staff/{world.staff['member_a1']}/reassign",
        headers=admin,
        json={"role": "grid_member", "scope_unit_id": str(other.grid_a1)},
    )
    theirs = other.staff["member_a1"]
    read_theirs = await client.get(f"/v1/staff/{theirs}", headers=admin)
    relieve_theirs = await client.post(
        f"/v1/staff/{theirs}/relieve", headers=admin, json={"reason": "越界"}
    )
    code_theirs = await client.post(f"/v1/staff/{theirs}/binding-code", headers=admin)

    # then each is outside the admin's scope, and the response names nobody over there
    for response in (appoint_there, move_there, read_theirs, relieve_theirs, code_theirs):
        assert outcome(response) == (403, 40301), response.text
        assert other.codes["town"] not in response.text
    assert "外镇人" not in {s["name"] for s in await roster(client, other.headers["admin"])}
    still = await client.get(f"/v1/staff/{theirs}", headers=other.headers["admin"])
    assert still.json()["status"] == "active"
    ours = await client.get(f"/v1/staff/{world.staff['member_a1']}", headers=admin)
    assert ours.json()["scope_unit_id"] == str(world.grid_a1)


async def test_unknown_staff_ids_are_404(client: Client, world: World) -> None:
    # given an id no staff member has
    ghost = uuid4()
    admin = world.headers["admin"]

    # when it is read, reassigned, relieved or given a code
    responses = [
        await client.get(f"/v1/staff/{ghost}", headers=admin),
        await client.post(
            f"/v1/staff/{ghost}/reassign",
            headers=admin,
            json={"role": "grid_member", "scope_unit_id": str(world.grid_a1)},
        ),
        await client.post(f"/v1/staff/{ghost}/relieve", headers=admin, json={"reason": "无此人"}),
        await client.post(f"/v1/staff/{ghost}/binding-code", headers=admin),
    ]

    # then each is 404 40400
    assert [outcome(r) for r in responses] == [(404, 40400)] * 4


async def test_bad_appointments_are_400_and_appoint_nobody(client: Client, world: World) -> None:
    # given bodies with a bad phone, an unknown role, an unknown field and a missing scope
    base = {"name": "格式错", "work_phone": "13912345678", "role": "grid_member"}
    bodies = [
        {**base, "work_phone": "call me", "scope_unit_id": str(world.grid_a1)},
        {**base, "role": "mayor", "scope_unit_id": str(world.grid_a1)},
        base,
    ]

    # when they are posted
    responses = [
        await client.post("/v1/staff", headers=world.headers["admin"], json=body) for body in bodies
    ]
    unknown_unit = await client.post(
        "/v1/staff",
        headers=world.headers["admin"],
        json={**base, "scope_unit_id": str(uuid4())},
    )

    # then each is refused, and nobody named 格式错 was appointed
    assert [outcome(r) for r in responses] == [(400, 40000)] * 3
    assert outcome(unknown_unit) == (404, 40400)
    assert "格式错" not in {s["name"] for s in await roster(client, world.headers["admin"])}
