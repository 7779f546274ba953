"""Push from phones: per-item results, exactly-once, conflicts, deferral, review, device status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from backend.bootstrap import Container
from events.household import Household
from events.meta import system_meta
from events.staff import Staff
from tests.support.households import household_body, register, unique_no
from tests.support.world import World

Json = dict[str, Any]


def now(offset: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + offset).isoformat()


def visit(household_id: str, *, event_id: UUID | None = None, seq: int = 1, **extra: Any) -> Json:
    return {
        "event_id": str(event_id or uuid4()),
        "device_seq": seq,
        "type": "visit.recorded",
        "captured_at": now(),
        "payload": {
            "household_id": household_id,
            "purpose": "routine",
            "method": "in_person",
            "visited_at": now(),
            **extra,
        },
    }


async def push(
    client: httpx.AsyncClient, world: World, who: str, events: list[Json], **extra: Any
) -> httpx.Response:
    body = {"protocol": 1, "device_id": f"device-{who}", "device_clock": now(), "events": events}
    return await client.post("/v1/sync/push", headers=world.headers[who], json={**body, **extra})


async def statuses(
    client: httpx.AsyncClient, world: World, who: str, events: list[Json]
) -> list[str]:
    response = await push(client, world, who, events)
    assert response.status_code == 200, response.text
    return [r["status"] for r in response.json()["results"]]


async def visit_count(container: Container, visit_id: str) -> int:
    value = await container.pool.fetchval(
        "SELECT count(*) FROM gridledger_events WHERE originator_id = $1", UUID(visit_id)
    )
    return int(value)


async def test_a_batch_is_accepted_and_a_resent_batch_creates_nothing(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    # given a household in grid A1 and a batch of three visits captured offline
    hh = await register(client, world.headers["member_a1"], household_body(world.grid_a1))
    batch = [visit(hh["id"], seq=i) for i in range(3)]
    # when the batch is pushed, and pushed again after a lost response
    first = await push(client, world, "member_a1", batch)
    again = await push(client, world, "member_a1", batch)
    # then all were accepted once, the re-send is acknowledged as duplicates, nothing doubled
    assert first.status_code == 200, first.text
    assert [r["status"] for r in first.json()["results"]] == ["accepted"] * 3
    assert [r["status"] for r in again.json()["results"]] == ["duplicate"] * 3
    assert first.json()["write_checkpoint"] >= max(r["position"] for r in first.json()["results"])
    for event in batch:
        assert await visit_count(container, event["event_id"]) == 1


async def test_same_id_with_other_content_is_a_recorded_conflict_and_never_an_overwrite(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    hh = await register(client, world.headers["member_a1"], household_body(world.grid_a1))
    original = visit(hh["id"], needs=["低保咨询"])
    assert await statuses(client, world, "member_a1", [original]) == ["accepted"]
    # when the same event id comes back with other content
    altered = {**original, "payload": {**original["payload"], "needs": ["别的"]}}
    response = await push(client, world, "member_a1", [altered])
    # then it is a conflict, the first content stands, and the second is kept on the receipt
    result = response.json()["results"][0]
    assert (result["status"], result["errcode"]) == ("conflict", 40960)
    await container.runner.wait_for(response.json()["write_checkpoint"])
    stored = await client.get(f"/v1/visits/{original['event_id']}", headers=world.headers["admin"])
    assert stored.json()["needs"] == ["低保咨询"]
    conflicts = await container.pool.fetchval(
        "SELECT conflicts FROM sync_receipts WHERE event_id = $1", UUID(original["event_id"])
    )
    assert conflicts == 1


async def test_a_bad_item_never_blocks_the_others(client: httpx.AsyncClient, world: World) -> None:
    hh = await register(client, world.headers["member_a1"], household_body(world.grid_a1))
    bad_type = {**visit(hh["id"]), "type": "visit.teleported"}
    bad_payload = visit(hh["id"], purpose="sightseeing")
    other_grid = await register(client, world.headers["admin"], household_body(world.grid_b1))
    foreign = visit(other_grid["id"])
    good = visit(hh["id"])
    response = await push(client, world, "member_a1", [bad_type, bad_payload, foreign, good])
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["status"], r.get("errcode")) for r in results] == [
        ("rejected", 40061),
        ("rejected", 40062),
        ("rejected", 40301),
        ("accepted", None),
    ]
    # and a rejected item re-sent answers the same, without a second receipt
    again = await push(client, world, "member_a1", [bad_payload])
    assert again.json()["results"][0]["status"] == "rejected"


async def test_only_protocol_and_device_problems_fail_the_request(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (await push(client, world, "member_a1", [], protocol=2)).json()["errcode"] == 40060
    other_device = await push(client, world, "member_a1", [], device_id="someone-else")
    assert (other_device.status_code, other_device.json()["errcode"]) == (403, 40360)
    no_token = await client.post("/v1/sync/push", json={})
    assert no_token.status_code == 401


async def test_a_visit_to_an_unknown_household_waits_and_is_released_when_it_arrives(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    # given a household registered on another phone, not yet pushed
    number = unique_no()
    household_id = str(Household.id_for_number(number))
    waiting = visit(household_id)
    # when the visit arrives first
    response = await push(client, world, "member_a1", [waiting])
    result = response.json()["results"][0]
    # then it is deferred, waiting for the household
    assert result["status"] == "deferred"
    assert result["waiting_for"] == [{"kind": "household", "id": household_id}]
    # when the household is registered through another phone's push
    registration = {
        "event_id": str(uuid4()), "device_seq": 1, "type": "household.registered",
        "captured_at": now(), "payload": household_body(world.grid_a1, household_no=number),
    }  # fmt: skip
    assert await statuses(client, world, "head_a", [registration]) == ["accepted"]
    # then the server applies the held visit itself
    from backend.services.sync_review import release_deferred

    await container.runner.wait_for(await container.runner.head())
    await release_deferred(container)
    assert await visit_count(container, waiting["event_id"]) == 1
    again = await push(client, world, "member_a1", [waiting])
    assert again.json()["results"][0]["status"] == "duplicate"


async def event_status(client: httpx.AsyncClient, world: World, who: str, event_id: str) -> Json:
    """The phone's latest ``event_status`` row for ``event_id``, from a pull from scratch."""
    body: Json = {"protocol": 1, "device_id": f"device-{who}"}
    rows: list[Json] = []
    while True:
        response = await client.post("/v1/sync/pull", headers=world.headers[who], json=body)
        assert response.status_code == 200, response.text
        page = response.json()
        rows += [
            o["data"] for o in page["ops"] if (o["kind"], o["id"]) == ("event_status", event_id)
        ]
        if not page["has_more"]:
            assert rows, f"no event_status for {event_id}"
            return rows[-1]
        body["cursor"] = page["cursor"]


async def test_a_released_event_no_longer_says_what_it_waited_for(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    from backend.services.sync_review import release_deferred

    # given a visit deferred for a household that has not arrived
    number = unique_no()
    household_id = str(Household.id_for_number(number))
    waiting = visit(household_id)
    assert await statuses(client, world, "member_a1", [waiting]) == ["deferred"]
    await container.runner.wait_for(await container.runner.head())
    held = await event_status(client, world, "member_a1", waiting["event_id"])
    assert held["waiting_for"] == [{"kind": "household", "id": household_id}]
    # when the household arrives and the server releases the visit
    registration = {
        "event_id": str(uuid4()), "device_seq": 1, "type": "household.registered",
        "captured_at": now(), "payload": household_body(world.grid_a1, household_no=number),
    }  # fmt: skip
    assert await statuses(client, world, "head_a", [registration]) == ["accepted"]
    await container.runner.wait_for(await container.runner.head())
    await release_deferred(container)
    await container.runner.wait_for(await container.runner.head())
    # then the phone's status row says accepted, waiting for nothing
    released = await event_status(client, world, "member_a1", waiting["event_id"])
    assert (released["status"], released["waiting_for"]) == ("accepted", [])
    assert (released.get("errcode"), released.get("reason")) == (None, None)


async def test_held_past_the_horizon_goes_to_review(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    from backend.services.sync_review import release_deferred

    never = visit(str(Household.id_for_number(unique_no())))
    assert await statuses(client, world, "member_a1", [never]) == ["deferred"]
    await container.runner.wait_for(await container.runner.head())
    await release_deferred(container, now=datetime.now(UTC) + timedelta(hours=73))
    again = await push(client, world, "member_a1", [never])
    assert (again.json()["results"][0]["status"], again.json()["results"][0]["errcode"]) == (
        "review",
        40460,
    )


async def _reassign(container: Container, staff_id: UUID, unit: UUID, days_ago: int) -> None:
    from anyio import to_thread

    def run() -> int:
        staff = container.event_log.repository.get(staff_id)
        assert isinstance(staff, Staff)
        day = (datetime.now(UTC) - timedelta(days=days_ago)).date()
        staff.reassign(role="grid_member", scope_unit_id=unit, effective_from=day,
                       meta=system_meta("tests"))  # fmt: skip
        return int(container.event_log.save(staff)[-1].notification.id)

    await container.runner.wait_for(await to_thread.run_sync(run))


async def test_reassigned_members_offline_work_goes_to_review_and_a_supervisor_accepts_it(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    from tests.support.world import build_world

    own = await build_world(container)
    hh = await register(client, own.headers["member_a1"], household_body(own.grid_a1))
    # given a visit captured in grid A1 three days ago, while member A1 still held it,
    captured = visit(hh["id"])
    captured["captured_at"] = now(-timedelta(days=3))
    # and a reassignment to grid A2 two days ago, before the phone came back online
    await _reassign(container, own.staff["member_a1"], own.grid_a2, days_ago=2)
    # when the phone pushes
    response = await push(client, own, "member_a1", [captured])
    result = response.json()["results"][0]
    # then the visit goes to review, not to the floor
    assert (result["status"], result["errcode"]) == ("review", 40361)
    await container.runner.wait_for(await container.runner.head())
    queue = await client.get("/v1/sync/review", headers=own.headers["head_a"])
    assert [i["event_id"] for i in queue.json()["items"]] == [captured["event_id"]]
    outsider = await client.get("/v1/sync/review", headers=world.headers["head_a"])
    assert captured["event_id"] not in [i["event_id"] for i in outsider.json()["items"]]
    # when the grid head accepts it, the visit is recorded as the member's
    accepted = await client.post(
        f"/v1/sync/review/{captured['event_id']}/accept", headers=own.headers["head_a"]
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    stored = await client.get(f"/v1/visits/{captured['event_id']}", headers=own.headers["admin"])
    assert stored.json()["visitor_id"] == str(own.staff["member_a1"])
    twice = await client.post(
        f"/v1/sync/review/{captured['event_id']}/accept", headers=own.headers["head_a"]
    )
    assert (twice.status_code, twice.json()["errcode"]) == (409, 40962)


async def test_a_member_may_not_decide_and_a_rejection_is_recorded(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    from backend.services.sync_review import release_deferred

    never = visit(str(Household.id_for_number(unique_no())))
    assert await statuses(client, world, "member_a1", [never]) == ["deferred"]
    await container.runner.wait_for(await container.runner.head())
    await release_deferred(container, now=datetime.now(UTC) + timedelta(hours=73))
    url = f"/v1/sync/review/{never['event_id']}/reject"
    by_member = await client.post(url, headers=world.headers["member_a1"], json={"reason": "x"})
    assert by_member.status_code == 403
    by_outsider = await client.post(url, headers=world.headers["member_b1"], json={"reason": "x"})
    assert by_outsider.status_code == 403
    done = await client.post(url, headers=world.headers["supervisor"], json={"reason": "无此户"})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["decided_by"]) == (
        "rejected",
        str(world.staff["supervisor"]),
    )


async def test_device_status_counts_outcomes_and_records_the_clock_offset(
    client: httpx.AsyncClient, container: Container
) -> None:
    from tests.support.world import build_world

    world = await build_world(container)
    hh = await register(client, world.headers["head_a"], household_body(world.grid_a1))
    body = {
        "protocol": 1, "device_id": "device-head_a",
        "device_clock": now(-timedelta(minutes=10)),  # the phone's clock is 10 minutes slow
        "events": [visit(hh["id"]), {**visit(hh["id"]), "type": "nope"}],
    }  # fmt: skip
    response = await client.post("/v1/sync/push", headers=world.headers["head_a"], json=body)
    assert 590_000 < response.json()["clock_offset_ms"] < 700_000
    await container.runner.wait_for(await container.runner.head())
    devices = await client.get(
        "/v1/sync/devices",
        headers=world.headers["supervisor"],
        params={"staff_id": str(world.staff["head_a"])},
    )
    assert devices.status_code == 200, devices.text
    [device] = devices.json()["items"]
    assert (device["device_id"], device["accepted"], device["rejected"]) == ("device-head_a", 1, 1)
    assert 590_000 < device["clock_offset_ms"] < 700_000
    # and a grid member sees only the devices inside its own scope
    by_member = await client.get("/v1/sync/devices", headers=world.headers["member_a1"])
    assert by_member.status_code == 200
    assert {d["staff_id"] for d in by_member.json()["items"]} <= {str(world.staff["member_a1"])}


async def test_two_phones_editing_the_same_field_offline_surface_a_conflict_and_lose_nothing(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    # given a household at version 1 that two phones edit offline from that version
    hh = await register(client, world.headers["member_a1"], household_body(world.grid_a1))

    def edit(value: str) -> Json:
        return {
            "event_id": str(uuid4()), "device_seq": 1, "type": "household.edited",
            "base_version": hh["version"], "captured_at": now(),
            "payload": {"household_id": hh["id"], "changes": [{"path": "house_type",
                                                                "value": value}]},
        }  # fmt: skip

    first, second = edit("砖混"), edit("木结构")
    # when both are pushed
    assert await statuses(client, world, "member_a1", [first]) == ["accepted"]
    response = await push(client, world, "head_a", [second])
    # then the second is a recorded conflict, and both values are kept on the household
    result = response.json()["results"][0]
    assert (result["status"], result["errcode"]) == ("conflict", 40961)
    await container.runner.wait_for(response.json()["write_checkpoint"])
    stored = await client.get(f"/v1/households/{hh['id']}", headers=world.headers["admin"])
    [conflict] = stored.json()["conflicts"]
    assert "木结构" in str(conflict) or "砖混" in str(conflict)
    # and the supervisor finds it in the review queue's conflicts
    queue = await client.get(
        "/v1/sync/review", headers=world.headers["supervisor"], params={"status": "conflict"}
    )
    assert second["event_id"] in [i["event_id"] for i in queue.json()["items"]]
