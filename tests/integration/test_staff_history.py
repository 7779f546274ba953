"""Staff history: every appointment, move and relief stays answerable with its dates."""

from __future__ import annotations

import httpx

from tests.support.world import World


async def test_assignments_keep_each_role_and_scope_with_dates(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = world.headers["admin"]
    # given a member appointed to grid A1, moved to A2, then made head of village A
    appointed = await client.post(
        "/v1/staff",
        headers=admin,
        json={
            "name": "赵六",
            "work_phone": "13900001111",
            "role": "grid_member",
            "scope_unit_id": str(world.grid_a1),
            "effective_from": "2026-02-01",
        },
    )
    assert appointed.status_code == 201, appointed.text
    staff_id = appointed.json()["id"]
    await client.post(
        f"/v1/staff/{staff_id}/reassign",
        headers=admin,
        json={
            "role": "grid_member",
            "scope_unit_id": str(world.grid_a2),
            "effective_from": "2026-04-01",
        },
    )
    promoted = await client.post(
        f"/v1/staff/{staff_id}/reassign",
        headers=admin,
        json={
            "role": "grid_head",
            "scope_unit_id": str(world.village_a),
            "effective_from": "2026-07-01",
        },
    )
    assert promoted.json()["role"] == "grid_head"

    # when the history is read
    history = await client.get(f"/v1/staff/{staff_id}/assignments", headers=admin)

    # then each period is there, closed by the next one
    assert history.status_code == 200
    assert [
        (a["role"], a["scope_unit_id"], a["effective_from"], a["effective_to"])
        for a in history.json()
    ] == [
        ("grid_member", str(world.grid_a1), "2026-02-01", "2026-04-01"),
        ("grid_member", str(world.grid_a2), "2026-04-01", "2026-07-01"),
        ("grid_head", str(world.village_a), "2026-07-01", None),
    ]


async def test_a_move_dated_before_the_current_assignment_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = world.headers["admin"]
    appointed = await client.post(
        "/v1/staff",
        headers=admin,
        json={
            "name": "钱七",
            "work_phone": "13900002222",
            "role": "grid_member",
            "scope_unit_id": str(world.grid_a1),
            "effective_from": "2026-05-01",
        },
    )
    staff_id = appointed.json()["id"]

    backdated = await client.post(
        f"/v1/staff/{staff_id}/reassign",
        headers=admin,
        json={
            "role": "grid_member",
            "scope_unit_id": str(world.grid_a2),
            "effective_from": "2026-03-01",
        },
    )

    assert (backdated.status_code, backdated.json()["errcode"]) == (400, 40010)
    history = await client.get(f"/v1/staff/{staff_id}/assignments", headers=admin)
    assert len(history.json()) == 1


async def test_history_of_staff_outside_scope_is_not_readable(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get(
        f"/v1/staff/{world.staff['member_a1']}/assignments", headers=world.headers["member_b1"]
    )

    assert (response.status_code, response.json()["errcode"]) == (403, 40301)
    assert "测试member_a1" not in response.text
