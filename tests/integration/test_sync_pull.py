"""Pull to phones: scoped buckets, masked rows, signed cursors, pages, scope changes, resets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx

from backend.bootstrap import Container
from backend.services.reference import ensure_default_categories
from projections import sync_feed
from tests.integration.test_sync_push import _reassign, push, visit
from tests.support.households import household_body, id_number, person, register
from tests.support.world import World, build_world

Json = dict[str, Any]


async def pull(
    client: httpx.AsyncClient, world: World, who: str, cursor: str | None = None, **extra: Any
) -> httpx.Response:
    body: Json = {"protocol": 1, "device_id": f"device-{who}", **extra}
    if cursor is not None:
        body["cursor"] = cursor
    return await client.post("/v1/sync/pull", headers=world.headers[who], json=body)


async def pull_all(
    client: httpx.AsyncClient, world: World, who: str, cursor: str | None = None, **extra: Any
) -> tuple[list[Json], str, list[Json]]:
    """Every page until has_more is false: (ops, last cursor, page bodies)."""
    ops: list[Json] = []
    pages: list[Json] = []
    while True:
        response = await pull(client, world, who, cursor, **extra)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        ops.extend(page["ops"])
        cursor = page["cursor"]
        if not page["has_more"]:
            return ops, page["cursor"], pages


def held(ops: list[Json], kind: str) -> dict[str, set[str]]:
    """What a phone holds after applying ops: row id -> buckets holding it."""
    rows: dict[str, set[str]] = {}
    for op in ops:
        if op["kind"] != kind:
            continue
        buckets = rows.setdefault(op["id"], set())
        if op["op"] == "put":
            buckets.add(op["bucket"])
        else:
            buckets.discard(op["bucket"])
    return {k: v for k, v in rows.items() if v}


async def settled(container: Container) -> None:
    await container.runner.wait_for(await container.runner.head())


async def test_a_member_bootstraps_its_grid_masked_and_nothing_else(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    # given a household in the member's grid with an ID number, and one in another village
    number = id_number(datetime(1970, 5, 1).date(), 11)
    mine = await register(
        client, world.headers["admin"],
        household_body(world.grid_a1, persons=[person("王建国", "户主", id_number=number)]),
    )  # fmt: skip
    theirs = await register(client, world.headers["admin"], household_body(world.grid_b1))
    await ensure_default_categories(container)
    await settled(container)
    # when member A1 pulls from nothing
    ops, _, pages = await pull_all(client, world, "member_a1")
    # then its grid's households arrive masked, the other village's never, plus reference data
    households = held(ops, "household")
    assert households[mine["id"]] == {f"unit:{world.grid_a1}"}
    assert theirs["id"] not in households
    data = next(o["data"] for o in ops if o["kind"] == "household" and o["id"] == mine["id"])
    assert number not in str(data)
    assert data["history"] == [], "the audit trail stays on the server"
    assert held(ops, "category"), "reference data is part of every phone's scope"
    assert all(o["op"] == "put" for o in ops), "a bootstrap sends no tombstones"
    assert pages[-1]["projected_through"] > 0


async def test_pages_are_consistent_and_cover_exactly_what_one_pull_would(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    for _ in range(7):
        await register(client, world.headers["admin"], household_body(world.grid_a2))
    await settled(container)
    whole, _, _ = await pull_all(client, world, "head_a")
    paged, _, pages = await pull_all(client, world, "head_a", limit=3)
    assert len(pages) > 2
    assert all(p["has_more"] for p in pages[:-1])
    assert len({p["projected_through"] for p in pages}) == 1, "one checkpoint for the run"
    key = [(o["bucket"], o["kind"], o["id"], o["op"]) for o in whole]
    assert sorted(key) == sorted((o["bucket"], o["kind"], o["id"], o["op"]) for o in paged)
    assert len(set(key)) == len(key), "no row twice in one run"


async def test_an_incremental_pull_brings_only_changes_and_reflects_own_pushes(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    hh = await register(client, world.headers["member_a1"], household_body(world.grid_a1))
    await settled(container)
    _, cursor, _ = await pull_all(client, world, "member_a1")
    # when the phone pushes a visit and pulls again
    event = visit(hh["id"])
    pushed = await push(client, world, "member_a1", [event])
    checkpoint = pushed.json()["write_checkpoint"]
    await container.runner.wait_for(checkpoint)
    ops, _, pages = await pull_all(client, world, "member_a1", cursor)
    # then only what changed comes: the visit plan of its grid and its event's status
    assert pages[-1]["projected_through"] >= checkpoint
    assert {(o["kind"], o["id"]) for o in ops} == {
        ("visit_plan", str(world.grid_a1)),
        ("event_status", event["event_id"]),
    }
    status = next(o["data"] for o in ops if o["kind"] == "event_status")
    assert status["status"] == "accepted"
    plan = next(o["data"] for o in ops if o["kind"] == "visit_plan")
    assert hh["id"] in plan["last_visits"]


async def test_a_moved_household_leaves_the_old_grid_and_arrives_in_the_new(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    hh = await register(client, world.headers["admin"], household_body(world.grid_a1))
    await settled(container)
    _, member_cursor, _ = await pull_all(client, world, "member_a1")
    _, head_cursor, _ = await pull_all(client, world, "head_a")
    # when the household moves from grid A1 to A2
    moved = await client.post(
        f"/v1/households/{hh['id']}/move",
        headers=world.headers["admin"],
        json={"grid_id": str(world.grid_a2)},
    )
    assert moved.status_code == 200, moved.text
    await settled(container)
    # then the A1 member's phone drops it, and the village head's keeps it (another bucket)
    member_ops, _, _ = await pull_all(client, world, "member_a1", member_cursor)
    assert {"bucket": f"unit:{world.grid_a1}", "op": "remove", "kind": "household",
            "id": hh["id"]} in member_ops  # fmt: skip
    # (pulled one op a page: the move's two rows come together, a position is never split)
    head_ops, _, _ = await pull_all(client, world, "head_a", head_cursor, limit=1)
    ops = [(o["bucket"], o["op"]) for o in head_ops if o["id"] == hh["id"]]
    assert sorted(ops) == sorted([(f"unit:{world.grid_a1}", "remove"),
                                  (f"unit:{world.grid_a2}", "put")])  # fmt: skip


async def test_a_reassignment_shows_as_scope_changes_on_the_next_pull(
    client: httpx.AsyncClient, container: Container
) -> None:
    own = await build_world(container)
    old = await register(client, own.headers["admin"], household_body(own.grid_a1))
    new = await register(client, own.headers["admin"], household_body(own.grid_a2))
    await settled(container)
    ops, cursor, _ = await pull_all(client, own, "member_a1")
    assert old["id"] in held(ops, "household")
    await _reassign(container, own.staff["member_a1"], own.grid_a2, days_ago=0)
    more, _, pages = await pull_all(client, own, "member_a1", cursor)
    assert pages[0]["scope_changes"] == {
        "added": [f"unit:{own.grid_a2}"],
        "removed": [f"unit:{own.grid_a1}"],
    }
    assert new["id"] in held(more, "household")


async def test_cursors_are_signed_and_bound_to_the_caller(
    client: httpx.AsyncClient, world: World
) -> None:
    _, cursor, _ = await pull_all(client, world, "member_a1")
    body, _, mac = cursor.partition(".")
    tampered = await pull(client, world, "member_a1", body[:-2] + "xx." + mac)
    assert (tampered.status_code, tampered.json()["errcode"]) == (400, 40063)
    stolen = await pull(client, world, "member_b1", cursor)
    assert (stolen.status_code, stolen.json()["errcode"]) == (400, 40063)
    wrong = await pull(client, world, "member_a1", protocol=7)
    assert wrong.json()["errcode"] == 40060


async def test_a_cursor_older_than_the_compaction_horizon_gets_a_bucket_reset(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    hh = await register(client, world.headers["admin"], household_body(world.grid_a1))
    await settled(container)
    _, cursor, _ = await pull_all(client, world, "member_a1")
    dissolved = await client.post(
        f"/v1/households/{hh['id']}/dissolve",
        headers=world.headers["admin"],
        json={"reason": "迁出"},
    )
    assert dissolved.status_code == 200, dissolved.text
    await settled(container)
    await sync_feed.compact(container.pool, before=datetime.now(UTC) + timedelta(days=1))
    ops, _, pages = await pull_all(client, world, "member_a1", cursor)
    assert f"unit:{world.grid_a1}" in pages[0]["reset"]
    assert hh["id"] not in held(ops, "household")
    assert all(o["op"] == "put" for o in ops if o["bucket"] == f"unit:{world.grid_a1}")


async def test_pull_rejects_another_device(client: httpx.AsyncClient, world: World) -> None:
    response = await pull(client, world, "member_a1", device_id=f"x-{uuid4().hex[:6]}")
    assert (response.status_code, response.json()["errcode"]) == (403, 40360)


async def test_a_case_dispatched_to_a_member_reaches_its_phone_until_it_closes(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    # given a case of village A (above the member's grid) reported from the head's phone
    await ensure_default_categories(container)
    case_id = str(uuid4())
    report = {
        "event_id": case_id, "device_seq": 1, "type": "case.reported",
        "captured_at": datetime.now(UTC).isoformat(),
        "payload": {"category": "sanitation", "title": "村口垃圾", "description": "三天未清运",
                    "location": "甲村村口", "unit_id": str(world.village_a)},
    }  # fmt: skip
    pushed = await push(client, world, "head_a", [report])
    assert pushed.json()["results"][0]["status"] == "accepted", pushed.text
    await settled(container)
    _, cursor, _ = await pull_all(client, world, "member_a1")
    # when the supervisor dispatches it to member A1
    sup = world.headers["supervisor"]
    for action, body in (("accept", {}), ("register", {}),
                         ("dispatch", {"staff_id": str(world.staff["member_a1"])})):  # fmt: skip
        done = await client.post(f"/v1/cases/{case_id}/{action}", headers=sup, json=body)
        assert done.status_code == 200, done.text
    await settled(container)
    # then it arrives in the member's own bucket, though its unit is outside the member's grid
    ops, _, _ = await pull_all(client, world, "member_a1", cursor)
    assert held(ops, "case") == {case_id: {f"user:{world.staff['member_a1']}"}}


async def test_an_edit_pushed_from_a_phone_arrives_in_its_next_pull(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    hh = await register(client, world.headers["member_a1"], household_body(world.grid_a1))
    await settled(container)
    first, cursor, _ = await pull_all(client, world, "member_a1")
    before = next(o["data"] for o in first if o["id"] == hh["id"])
    edit = {
        "event_id": str(uuid4()), "device_seq": 1, "type": "household.edited",
        "base_version": before["version"], "captured_at": datetime.now(UTC).isoformat(),
        "payload": {"household_id": hh["id"], "changes": [{"path": "notes", "value": "独居"}]},
    }  # fmt: skip
    pushed = await push(client, world, "member_a1", [edit])
    assert pushed.json()["results"][0]["status"] == "accepted", pushed.text
    await container.runner.wait_for(pushed.json()["write_checkpoint"])
    ops, _, _ = await pull_all(client, world, "member_a1", cursor)
    after = next(o["data"] for o in ops if o["id"] == hh["id"])
    assert (after["notes"], after["version"]) == ("独居", before["version"] + 1)
