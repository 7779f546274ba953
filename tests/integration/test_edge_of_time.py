"""A time at the very edge of the calendar is bad input, not a poisoned read model.

asyncpg writes the first and the last instant Python can represent (0001-01-01T00:00:00Z,
9999-12-31T23:59:59.999999Z) as PostgreSQL ``-infinity`` / ``infinity`` and reads them back
as *naive* datetimes, and it cannot read back an instant before the first one at all. So a
visit "made" at 0001-01-01T00:00:00Z came back as ``"0001-01-01T00:00:00"`` (no zone: not an
RFC 3339 date-time, so the answer broke its own schema, in recordVisit and in every listVisits
of that grid), and one at 0001-01-01T00:00:00+08:00 (before the first UTC instant) would stop
every read of its grid's visit log. Found by the stateful contract walk
(``tests/contract/test_openapi_stateful.py``): ``POST /v1/visits`` with that ``visited_at``
answered 201 with a body that did not conform.

No phone clock reports year 1 or 9999; such a visit time is refused like a control character
(over sync, that one item is rejected and the batch goes on), and the times a phone does
report still pass. A clock reading that is only metadata (``client_time``) stays accepted and
dropped where it cannot be kept (see ``test_case_board.py``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from backend.bootstrap import Container
from tests.integration.test_visit_api import household_in, visit_body
from tests.support.world import World

EDGES = ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59.999999Z"]


@pytest.mark.parametrize("visited_at", EDGES)
async def test_a_visit_at_the_edge_of_time_is_refused_and_the_log_stays_readable(
    client: httpx.AsyncClient, world: World, visited_at: str
) -> None:
    # given a household in grid A1 and its grid member
    household_id = await household_in(client, world, world.grid_a1)
    member = world.headers["member_a1"]

    # when the phone sends a visit whose time is the first or last instant there is
    answer = await client.post(
        "/v1/visits", headers=member, json=visit_body(household_id, visited_at=visited_at)
    )

    # then it is refused as bad input, and the grid's visits still read, every time zoned
    assert answer.status_code == 400, answer.text
    assert answer.json()["errcode"] // 100 == 400
    listed = await client.get("/v1/visits", headers=member, params={"grid_id": str(world.grid_a1)})
    assert listed.status_code == 200, listed.text
    assert all(v["visited_at"][-1] == "Z" for v in listed.json()["items"]), listed.text


@pytest.mark.parametrize("visited_at", ["1970-01-01T00:00:00Z", "2099-12-31T23:59:59+08:00"])
async def test_a_wrong_but_possible_phone_clock_is_still_accepted(
    client: httpx.AsyncClient, world: World, visited_at: str
) -> None:
    # given a household in grid A1 and a phone whose clock was reset or runs far ahead
    household_id = await household_in(client, world, world.grid_a1)
    member = world.headers["member_a1"]

    # when it sends a visit with that time
    answer = await client.post(
        "/v1/visits", headers=member, json=visit_body(household_id, visited_at=visited_at)
    )

    # then the visit is recorded (device time is shown, never trusted), zoned as UTC
    assert answer.status_code == 201, answer.text
    assert answer.json()["visited_at"].endswith("Z"), answer.text


@pytest.mark.parametrize("visited_at", EDGES[:2])
async def test_a_synced_visit_at_the_edge_of_time_is_rejected_alone(
    client: httpx.AsyncClient, container: Container, world: World, visited_at: str
) -> None:
    # given a household in grid A1, and a phone's outbox with a sound visit and one dated year 1
    household_id = await household_in(client, world, world.grid_a1)
    sound, odd = synced_visit(household_id, seq=1), synced_visit(household_id, seq=2)
    odd["payload"]["visited_at"] = visited_at

    # when the phone pushes both
    pushed = await client.post(
        "/v1/sync/push",
        headers=world.headers["member_a1"],
        json={"protocol": 1, "device_id": "device-member_a1", "device_clock": now(),
              "events": [sound, odd]},
    )  # fmt: skip

    # then the odd one alone is rejected, and the grid's visits still read
    assert pushed.status_code == 200, pushed.text
    assert [r["status"] for r in pushed.json()["results"]] == ["accepted", "rejected"]
    await container.runner.wait_for(pushed.json()["write_checkpoint"])
    listed = await client.get(
        "/v1/visits", headers=world.headers["member_a1"], params={"household_id": household_id}
    )
    assert [v["id"] for v in listed.json()["items"]] == [sound["event_id"]], listed.text


def now() -> str:
    return datetime.now(UTC).isoformat()


def synced_visit(household_id: str, *, seq: int) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()), "device_seq": seq, "type": "visit.recorded",
        "captured_at": now(),
        "payload": {"household_id": household_id, "purpose": "routine", "method": "in_person",
                    "visited_at": now()},
    }  # fmt: skip


@pytest.mark.parametrize("field", ["captured_at", "device_clock"])
@pytest.mark.parametrize("moment", EDGES)
async def test_a_push_whose_clock_reads_the_edge_of_time_is_refused_whole(
    client: httpx.AsyncClient, container: Container, world: World, field: str, moment: str
) -> None:
    # given a household in grid A1 and a batch whose envelope carries a year-1 / year-9999 clock
    household_id = await household_in(client, world, world.grid_a1)
    event = synced_visit(household_id, seq=1)
    batch = {"protocol": 1, "device_id": "device-member_a1", "device_clock": now(),
             "events": [event]}  # fmt: skip
    if field == "captured_at":
        event["captured_at"] = moment
    else:
        batch["device_clock"] = moment

    # when the phone pushes it
    pushed = await client.post("/v1/sync/push", headers=world.headers["member_a1"], json=batch)

    # then the envelope is refused as malformed (like a clock without a zone), nothing is
    # recorded, and the device receipts keep folding (a sound push after it is reflected)
    assert pushed.status_code == 400, pushed.text
    sound = synced_visit(household_id, seq=2)
    batch.update(device_clock=now(), events=[sound])
    after = await client.post("/v1/sync/push", headers=world.headers["member_a1"], json=batch)
    assert after.status_code == 200, after.text
    await container.runner.wait_for(after.json()["write_checkpoint"])
    devices = await client.get("/v1/sync/devices", headers=world.headers["admin"])
    mine = [d for d in devices.json()["items"] if d["device_id"] == "device-member_a1"]
    assert mine, devices.text
    assert mine[0]["accepted"] >= 1, devices.text
