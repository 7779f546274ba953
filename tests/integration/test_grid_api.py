"""Grid tree endpoints on the real services: admins shape the tree; everyone reads in scope."""

from __future__ import annotations

from datetime import date

import httpx

from tests.support.world import World

Client = httpx.AsyncClient


async def test_admin_creates_a_grid_under_a_village_and_members_see_only_their_subtree(
    client: Client, world: World
) -> None:
    # given an admin of the town
    code = world.codes["village_a"] + "009"

    # when the admin creates grid 009 in village A
    created = await client.post(
        "/v1/grid-units",
        headers=world.headers["admin"],
        json={
            "code": code,
            "name": "甲村第九网格",
            "level": 3,
            "parent_id": str(world.village_a),
            "effective_from": "2026-03-01",
        },
    )

    # then it is in the tree with its path, and the village head sees it but member B1 does not
    assert created.status_code == 201, created.text
    unit = created.json()
    assert unit["code"] == code
    assert unit["path"] == [str(world.town), str(world.village_a), unit["id"]]
    head_view = await client.get("/v1/grid-units", headers=world.headers["head_a"])
    assert code in {u["code"] for u in head_view.json()}
    member_view = await client.get("/v1/grid-units", headers=world.headers["member_b1"])
    assert {u["id"] for u in member_view.json()} == {str(world.grid_b1)}


async def test_codes_are_never_reused_even_after_retirement(client: Client, world: World) -> None:
    code = world.codes["village_a"] + "010"
    body = {"code": code, "name": "临时网格", "level": 3, "parent_id": str(world.village_a)}
    created = await client.post("/v1/grid-units", headers=world.headers["admin"], json=body)
    unit_id = created.json()["id"]
    retired = await client.post(
        f"/v1/grid-units/{unit_id}/retire", headers=world.headers["admin"], json={"reason": "合并"}
    )
    assert retired.json()["status"] == "retired"

    again = await client.post("/v1/grid-units", headers=world.headers["admin"], json=body)

    assert again.status_code == 409
    assert again.json()["errcode"] == 40911


async def test_rename_and_move_keep_history_for_as_of_questions(
    client: Client, world: World
) -> None:
    code = world.codes["village_a"] + "011"
    created = await client.post(
        "/v1/grid-units",
        headers=world.headers["admin"],
        json={
            "code": code,
            "name": "旧名网格",
            "level": 3,
            "parent_id": str(world.village_a),
            "effective_from": "2026-02-01",
        },
    )
    unit_id = created.json()["id"]

    await client.post(
        f"/v1/grid-units/{unit_id}/rename",
        headers=world.headers["admin"],
        json={"name": "新名网格", "effective_from": "2026-04-01"},
    )
    moved = await client.post(
        f"/v1/grid-units/{unit_id}/move",
        headers=world.headers["admin"],
        json={"new_parent_id": str(world.village_b), "effective_from": "2026-05-01"},
    )

    assert moved.status_code == 200, moved.text
    assert moved.json()["path"] == [str(world.town), str(world.village_b), unit_id]
    march = await client.get(
        f"/v1/grid-units/{unit_id}", headers=world.headers["admin"], params={"as_of": "2026-03-15"}
    )
    assert (march.json()["name"], march.json()["parent_id"]) == ("旧名网格", str(world.village_a))
    april = await client.get(
        f"/v1/grid-units/{unit_id}",
        headers=world.headers["admin"],
        params={"as_of": date(2026, 4, 15).isoformat()},
    )
    assert (april.json()["name"], april.json()["parent_id"]) == ("新名网格", str(world.village_a))
    before = await client.get(
        f"/v1/grid-units/{unit_id}", headers=world.headers["admin"], params={"as_of": "2026-01-15"}
    )
    assert before.status_code == 404


async def test_bad_grid_input_gets_clear_errcodes_and_changes_nothing(
    client: Client, world: World
) -> None:
    admin = world.headers["admin"]
    wrong_prefix = await client.post(
        "/v1/grid-units",
        headers=admin,
        json={
            "code": "999999999999001",
            "name": "错码",
            "level": 3,
            "parent_id": str(world.village_a),
        },
    )
    assert (wrong_prefix.status_code, wrong_prefix.json()["errcode"]) == (400, 40011)
    unknown_field = await client.post(
        "/v1/grid-units",
        headers=admin,
        json={
            "code": world.codes["village_a"] + "012",
            "name": "x",
            "level": 3,
            "parent_id": str(world.village_a),
            "surprise": 1,
        },
    )
    assert (unknown_field.status_code, unknown_field.json()["errcode"]) == (400, 40000)
    malformed = await client.post(
        "/v1/grid-units",
        headers=admin,
        content=b"{not json",
    )
    assert (malformed.status_code, malformed.json()["errcode"]) == (400, 40000)
    by_member = await client.post(
        "/v1/grid-units",
        headers=world.headers["member_a1"],
        json={
            "code": world.codes["village_a"] + "013",
            "name": "越权",
            "level": 3,
            "parent_id": str(world.village_a),
        },
    )
    assert (by_member.status_code, by_member.json()["errcode"]) == (403, 40300)
    listing = await client.get("/v1/grid-units", headers=admin)
    assert world.codes["village_a"] + "013" not in {u["code"] for u in listing.json()}


async def test_text_with_a_nul_character_is_refused_before_it_reaches_the_log(
    client: Client, world: World
) -> None:
    # PostgreSQL cannot store NUL in jsonb: an accepted event with one would stop projections.
    response = await client.post(
        f"/v1/grid-units/{world.grid_a2}/rename",
        headers=world.headers["admin"],
        json={"name": "坏\x00名"},
    )

    assert (response.status_code, response.json()["errcode"]) == (400, 40000)
    unit = await client.get(f"/v1/grid-units/{world.grid_a2}", headers=world.headers["admin"])
    assert "\x00" not in unit.json()["name"]
