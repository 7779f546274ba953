"""Visits (走访) over HTTP on the real services: phone ids make re-sends safe, the grid comes
from the household, photos are pending until uploaded, and bad input writes nothing."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx

from tests.support.households import Json, household_body, register
from tests.support.world import World

Client = httpx.AsyncClient


def visit_body(household_id: str, **extra: Any) -> Json:
    return {
        "visit_id": str(uuid.uuid4()),
        "household_id": household_id,
        "purpose": "comprehensive_visit",
        "method": "in_person",
        "visited_at": "2026-03-02T09:30:00+08:00",
        "findings": {"drinking_water": "problem", "housing_safety": "ok", "notes": "水管漏水"},
        "needs": ["修水管"],
        "gps": {"lat": 30.1, "lng": 120.2, "accuracy_m": 8},
        **extra,
    }


async def household_in(client: Client, world: World, grid: Any) -> str:
    created = await register(client, world.headers["admin"], household_body(grid))
    household_id: str = created["id"]
    return household_id


async def visit_count(client: Client, world: World, household_id: str) -> int:
    response = await client.get(
        "/v1/visits",
        headers=world.headers["supervisor"],
        params={"household_id": household_id, "include_voided": "true"},
    )
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


async def test_a_visit_is_recorded_once_whatever_the_retries(client: Client, world: World) -> None:
    # given a household in grid A1 and a visit captured offline by member A1 with a photo
    household_id = await household_in(client, world, world.grid_a1)
    photo = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    body = visit_body(household_id, photos=[photo])
    member = world.headers["member_a1"]

    # when the phone sends it, and sends it again because the answer was lost
    first = await client.post("/v1/visits", headers=member, json=body)
    again = await client.post("/v1/visits", headers=member, json=body)

    # then it is recorded once: 201, then 200 with the same visit marked duplicate
    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    visit = first.json()
    assert (visit["duplicate"], again.json()["duplicate"]) == (False, True)
    assert again.json()["id"] == visit["id"] == body["visit_id"]
    assert await visit_count(client, world, household_id) == 1
    # and the grid is the household's, the visitor is the caller, the photo is pending
    assert visit["grid_id"] == str(world.grid_a1)
    assert visit["visitor_id"] == str(world.staff["member_a1"])
    assert visit["problems"] == ["drinking_water"]
    assert visit["photos"] == [{"sha256": photo, "pending": True}]
    assert visit["visited_at"].startswith("2026-03-02T01:30:00")


async def test_the_same_id_with_other_content_is_refused(client: Client, world: World) -> None:
    # given a recorded visit
    household_id = await household_in(client, world, world.grid_a1)
    body = visit_body(household_id)
    member = world.headers["member_a1"]
    assert (await client.post("/v1/visits", headers=member, json=body)).status_code == 201

    # when a phone sends the same id with other findings
    changed = {**body, "findings": {"drinking_water": "ok"}}
    response = await client.post("/v1/visits", headers=member, json=changed)

    # then it is 409 40911 and the stored visit is untouched
    assert (response.status_code, response.json()["errcode"]) == (409, 40911)
    stored = (await client.get(f"/v1/visits/{body['visit_id']}", headers=member)).json()
    assert stored["findings"]["drinking_water"] == "problem"
    assert stored["version"] == 1


async def test_a_photo_stops_being_pending_once_uploaded(client: Client, world: World) -> None:
    # given a visit whose photo the phone uploads afterwards
    household_id = await household_in(client, world, world.grid_a1)
    member = world.headers["member_a1"]
    png = _png(uuid.uuid4().bytes)
    sha = hashlib.sha256(png).hexdigest()
    body = visit_body(household_id, photos=[sha])
    assert (await client.post("/v1/visits", headers=member, json=body)).status_code == 201

    # when the photo lands
    uploaded = await client.post(
        "/v1/media",
        headers=member,
        files={"file": ("v.png", png, "image/png")},
        data={"sha256": sha},
    )
    assert uploaded.status_code == 201, uploaded.text

    # then the visit shows it as present
    visit = (await client.get(f"/v1/visits/{body['visit_id']}", headers=member)).json()
    assert visit["photos"] == [{"sha256": sha, "pending": False}]


async def test_amend_and_void_by_the_visitor_and_the_grid_head(
    client: Client, world: World
) -> None:
    # given a visit by member A1
    household_id = await household_in(client, world, world.grid_a1)
    body = visit_body(household_id)
    member = world.headers["member_a1"]
    assert (await client.post("/v1/visits", headers=member, json=body)).status_code == 201
    path = f"/v1/visits/{body['visit_id']}"

    # when the visitor amends the notes, and the grid head voids it
    amended = await client.post(f"{path}/amend", headers=member, json={"notes": "已修好"})
    voided = await client.post(
        f"{path}/void", headers=world.headers["head_a"], json={"reason": "录错户"}
    )

    # then both are recorded, the original stays in the log, and a void is final
    assert amended.status_code == 200, amended.text
    assert (amended.json()["findings"]["notes"], amended.json()["amendments"]) == ("已修好", 1)
    assert voided.status_code == 200, voided.text
    assert (voided.json()["voided"], voided.json()["void_reason"]) == (True, "录错户")
    again = await client.post(f"{path}/void", headers=member, json={"reason": "再次"})
    assert (again.status_code, again.json()["errcode"]) == (409, 40910)
    # and the re-send of the original is still recognised as the same visit
    resent = await client.post("/v1/visits", headers=member, json=body)
    assert (resent.status_code, resent.json()["duplicate"]) == (200, True)


async def test_the_mediator_in_scope_may_read_but_not_correct_anothers_visit(
    client: Client, world: World
) -> None:
    # given a visit by member A1
    household_id = await household_in(client, world, world.grid_a1)
    body = visit_body(household_id)
    assert (
        await client.post("/v1/visits", headers=world.headers["member_a1"], json=body)
    ).status_code == 201

    # when the village's mediator tries to amend it
    response = await client.post(
        f"/v1/visits/{body['visit_id']}/amend",
        headers=world.headers["mediator_a"],
        json={"notes": "改"},
    )

    # then it is refused by role (40300)
    assert (response.status_code, response.json()["errcode"]) == (403, 40300)


async def test_bad_visits_write_nothing(client: Client, world: World) -> None:
    household_id = await household_in(client, world, world.grid_a1)
    member = world.headers["member_a1"]
    unknown = str(uuid.uuid4())
    cases = [
        (visit_body(unknown), 404, 40400),  # unknown household
        (visit_body(household_id, visited_at="yesterday"), 400, 40000),  # wrong type
        (visit_body(household_id, purpose="gossip"), 400, 40000),  # not a purpose
        (visit_body(household_id, visited_at="2026-03-02T09:30:00"), 400, 40010),  # naive
        (visit_body(household_id, photos=["ABC"]), 400, 40000),  # not a sha256
        (visit_body(household_id, extra_field=1), 400, 40000),  # unknown field
        (visit_body(household_id, gps={"lat": 91, "lng": 0}), 400, 40000),
    ]
    for body, status, errcode in cases:
        response = await client.post("/v1/visits", headers=member, json=body)
        assert (response.status_code, response.json()["errcode"]) == (status, errcode), body
    assert await visit_count(client, world, household_id) == 0


async def test_a_household_outside_the_scope_is_refused(client: Client, world: World) -> None:
    # given a household in grid B1
    household_id = await household_in(client, world, world.grid_b1)

    # when member A1 records a visit there
    body = visit_body(household_id)
    response = await client.post("/v1/visits", headers=world.headers["member_a1"], json=body)

    # then it is 403 40301 and nothing was recorded
    assert (response.status_code, response.json()["errcode"]) == (403, 40301)
    assert await visit_count(client, world, household_id) == 0


async def test_list_filters_by_visitor_purpose_and_day(client: Client, world: World) -> None:
    # given two visits to one household on different days and purposes
    household_id = await household_in(client, world, world.grid_a1)
    member = world.headers["member_a1"]
    for purpose, at in (
        ("routine", "2026-04-01T23:30:00+08:00"),
        ("policy_outreach", "2026-04-03T08:00:00+08:00"),
    ):
        body = visit_body(household_id, purpose=purpose, visited_at=at)
        assert (await client.post("/v1/visits", headers=member, json=body)).status_code == 201

    # when the supervisor filters by the visitor, a purpose and a Beijing day range
    params = {
        "household_id": household_id,
        "visitor_id": str(world.staff["member_a1"]),
        "date_from": "2026-04-01",
        "date_to": "2026-04-01",
    }
    by_day = await client.get("/v1/visits", headers=world.headers["supervisor"], params=params)
    by_purpose = await client.get(
        "/v1/visits",
        headers=world.headers["supervisor"],
        params={"household_id": household_id, "purpose": "policy_outreach"},
    )

    # then each filter finds exactly its visit, and member B1 sees none of them
    assert [v["purpose"] for v in by_day.json()["items"]] == ["routine"]
    assert [v["purpose"] for v in by_purpose.json()["items"]] == ["policy_outreach"]
    other = await client.get(
        "/v1/visits", headers=world.headers["member_b1"], params={"household_id": household_id}
    )
    assert (other.status_code, other.json()["total"]) == (200, 0)


def _png(seed: bytes) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\x00" + seed.hex().encode())
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )
