"""Stories of the closed-loop case API (事件闭环): a grid member reports, a supervisor takes the
case through every stage, refused transitions name the state, and scope holds."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from backend.bootstrap import Container
from backend.services import reference
from backend.workers.sla_scheduler import LOCK_KEY
from events.holidays import china_calendar
from events.sla import DEFAULT_POLICY
from tests.integration.test_scope_matrix import _png
from tests.support.world import World

Client = httpx.AsyncClient
Json = dict[str, Any]
PHOTO_MISSING = "c" * 64


@pytest.fixture(scope="module")
async def scheduler_paused(container: Container) -> AsyncIterator[None]:
    """Hold the scheduler's leader lock: the app's own scheduler stays out of these stories
    (it would judge their cases by today's clock); tests call ``run_once`` themselves."""
    conn = await asyncpg.connect(container.database_url)
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)  # waits out a running pass
    try:
        yield
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        await conn.close()


@pytest.fixture(scope="module", autouse=True)
async def reference_data(container: Container, scheduler_paused: None) -> None:
    await reference.ensure_default_categories(container)
    # Other modules restore the default policy after changing it; these stories rely on it.
    assert await reference.sla_policy(container) == DEFAULT_POLICY


def report_body(**overrides: Any) -> Json:
    return {
        "id": str(uuid4()), "category": "sanitation", "title": "村口垃圾堆积",
        "description": "村口垃圾三天未清运", "location": "甲村村口",
        "gps": {"lat": 30.1, "lng": 120.2, "accuracy_m": 8}, "photos": [PHOTO_MISSING],
        "client_time": "2026-03-02T09:00:00+08:00",
    } | overrides  # fmt: skip


async def report(client: Client, headers: dict[str, str], **overrides: Any) -> Json:
    response = await client.post("/v1/cases", headers=headers, json=report_body(**overrides))
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


async def act(
    client: Client, headers: dict[str, str], case_id: str, action: str, body: Json | None = None
) -> httpx.Response:
    return await client.post(f"/v1/cases/{case_id}/{action}", headers=headers, json=body or {})


async def done(
    client: Client, headers: dict[str, str], case_id: str, action: str, body: Json | None = None
) -> Json:
    response = await act(client, headers, case_id, action, body)
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


async def to_handling(client: Client, world: World, case_id: str) -> Json:
    """Accept, register and dispatch to member A1, who signs for it."""
    sup = world.headers["supervisor"]
    await done(client, sup, case_id, "accept")
    await done(client, sup, case_id, "register")
    await done(client, sup, case_id, "dispatch", {"staff_id": str(world.staff["member_a1"])})
    return await done(client, world.headers["member_a1"], case_id, "sign-for")


async def upload(client: Client, headers: dict[str, str]) -> str:
    photo = _png()
    sha = hashlib.sha256(photo).hexdigest()
    response = await client.post(
        "/v1/media", headers=headers, files={"file": ("p.png", photo, "image/png")},
        data={"sha256": sha},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return sha


async def test_a_supervisor_takes_a_members_case_through_every_stage(
    client: Client, world: World
) -> None:
    # given a case member A1 reports with one photo uploaded and one still on the phone
    member, sup = world.headers["member_a1"], world.headers["supervisor"]
    uploaded = await upload(client, member)
    case = await report(client, member, photos=[uploaded, PHOTO_MISSING])
    cid = case["id"]
    assert (case["state"], case["level"], case["holder_unit_id"]) == (
        "reported", 3, str(world.grid_a1)
    )  # fmt: skip
    assert case["reporter"] == {
        "source": "grid_member", "staff_id": str(world.staff["member_a1"]),
        "contact_name": None, "contact_phone": None,
    }  # fmt: skip
    assert [(p["sha256"], p["pending"]) for p in case["photos"]] == [
        (uploaded, False), (PHOTO_MISSING, True)
    ]  # fmt: skip
    assert case["allowed_actions"] == []  # a member may not accept
    assert (case["stage"], case["colour"]) == ("acceptance", "green")  # its clock just started

    # when the supervisor accepts, registers and dispatches it to the member
    assert set((await client.get(f"/v1/cases/{cid}", headers=sup)).json()["allowed_actions"]) == {
        "accept", "reject", "supervise"
    }  # fmt: skip
    await done(client, sup, cid, "accept", {"comment": "属实"})
    assert (await done(client, sup, cid, "register"))["stage"] == "dispatch"
    dispatched = await done(
        client, sup, cid, "dispatch",
        {"staff_id": str(world.staff["member_a1"]), "instructions": "两日内清运"},
    )  # fmt: skip
    assert dispatched["assignee_staff_id"] == str(world.staff["member_a1"])

    # and the member signs for it and handles it with before/after photos
    seen = (await client.get(f"/v1/cases/{cid}", headers=member)).json()
    assert set(seen["allowed_actions"]) == {"sign_for", "return", "request_delay", "report_up"}
    await done(client, member, cid, "sign-for")
    handled = await done(
        client, member, cid, "handle",
        {"result": "已清运", "before_photos": [uploaded], "after_photos": [PHOTO_MISSING]},
    )  # fmt: skip
    assert handled["result"] == "已清运"
    assert handled["stage"] == "verification"

    # and verification fails once, then passes after handling again
    failed = await done(client, sup, cid, "fail-verification", {"reason": "未清理干净"})
    assert (failed["state"], failed["last_reason"]) == ("signed_for", "未清理干净")
    again = {"result": "复清完毕", "before_photos": [uploaded], "after_photos": [uploaded]}
    await done(client, member, cid, "handle", again)
    await done(client, sup, cid, "verify", {"comment": "合格"})
    closed = await done(client, sup, cid, "close", {"summary": "已办结"})
    assert (closed["state"], closed["stage"], closed["deadline"]) == ("closed", None, None)
    rated = await done(client, sup, cid, "satisfaction", {"rating": 5, "comment": "满意"})

    # then the case is closed with its rating and the history tells the whole loop
    assert rated["satisfaction"] == {"rating": 5, "comment": "满意"}
    assert [h["event"] for h in rated["history"]] == [
        "Reported", "Accepted", "Registered", "Dispatched", "SignedFor", "Handled",
        "VerificationFailed", "Handled", "Verified", "Closed", "SatisfactionRecorded",
    ]  # fmt: skip
    assert rated["history"][0]["client_time"] == "2026-03-02T01:00:00Z"
    assert rated["history"][3]["detail"]["instructions"] == "两日内清运"
    assert rated["allowed_actions"] == ["reopen"]
    # and the board row has the photos with their pending flags
    row = await board_row(client, sup, cid)
    assert (row["state"], row["closed_at"] is not None, row["satisfaction"]) == ("closed", True, 5)
    assert {(p["kind"], p["pending"]) for p in row["photos"]} == {
        ("report", False), ("report", True), ("before", False), ("after", False)
    }  # fmt: skip


async def board_row(client: Client, headers: dict[str, str], case_id: str, **params: Any) -> Json:
    page = await client.get("/v1/case-board", headers=headers, params={"limit": 200, **params})
    assert page.status_code == 200, page.text
    rows = [r for r in page.json()["items"] if r["id"] == case_id]
    assert len(rows) == 1, page.text
    return rows[0]


async def test_resending_a_report_is_idempotent_and_a_changed_one_conflicts(
    client: Client, world: World
) -> None:
    # given a report member A1 sent once
    member = world.headers["member_a1"]
    body = report_body()
    first = await client.post("/v1/cases", headers=member, json=body)
    assert first.status_code == 201, first.text

    # when the phone sends it again, and then a different report under the same id
    again = await client.post("/v1/cases", headers=member, json=body)
    other = await client.post("/v1/cases", headers=member, json=body | {"title": "另一件事"})

    # then the first answer is repeated and the second is a conflict; one case exists
    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["version"]) == (body["id"], 1)
    assert other.status_code == 409, other.text
    assert (other.json()["errcode"], other.json()["id"]) == (40911, body["id"])


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": "no_such_category"}, "category"),
        ({"household_id": str(uuid4())}, "household_id"),
    ],
)
async def test_a_report_with_unknown_reference_data_is_refused(
    client: Client, world: World, overrides: Json, field: str
) -> None:
    body = report_body(**overrides)
    response = await client.post("/v1/cases", headers=world.headers["member_a1"], json=body)
    assert response.status_code == 400, response.text
    assert (response.json()["errcode"], response.json()["field"]) == (40010, field)
    assert (
        await client.get(f"/v1/cases/{body['id']}", headers=world.headers["admin"])
    ).status_code == 404


REFUSED_IN_REPORTED: list[tuple[str, Json]] = [
    ("register", {}), ("dispatch", {"unit_id": "UNIT"}), ("sign-for", {}),
    ("return", {"reason": "不归我"}), ("handle", {"result": "已处理"}), ("verify", {}),
    ("fail-verification", {"reason": "不合格"}), ("close", {}), ("reopen", {"reason": "复发"}),
    ("report-up", {"reason": "需村里协调"}), ("request-delay", {"days": 2, "reason": "等材料"}),
    ("decide-delay", {"approve": True}), ("suspend", {"reason": "待鉴定"}), ("resume", {}),
    ("satisfaction", {"rating": 4}),
]  # fmt: skip


async def test_every_refused_transition_answers_409_with_state_and_allowed(
    client: Client, world: World
) -> None:
    # given a case just reported
    sup = world.headers["supervisor"]
    cid = (await report(client, world.headers["member_a1"]))["id"]

    for action, body in REFUSED_IN_REPORTED:
        # when the supervisor tries an action the reported state does not allow
        body = {k: str(world.grid_a1) if v == "UNIT" else v for k, v in body.items()}
        response = await act(client, sup, cid, action, body)

        # then it is refused naming the state and what is allowed
        assert response.status_code == 409, (action, response.text)
        answer = response.json()
        assert (answer["errcode"], answer["state"]) == (40910, "reported"), action
        assert {"accept", "reject", "supervise"} <= set(answer["allowed"]), action
    # and nothing was recorded
    assert (await client.get(f"/v1/cases/{cid}", headers=sup)).json()["version"] == 1


async def test_report_up_moves_the_case_to_the_village(client: Client, world: World) -> None:
    # given an accepted case in grid A1
    member, head = world.headers["member_a1"], world.headers["head_a"]
    cid = (await report(client, member))["id"]
    await done(client, head, cid, "accept")

    # when the member reports it up
    moved = await done(client, member, cid, "report-up", {"reason": "需村里协调"})

    # then the village holds it, registered afresh at level 2, and the member lost sight of it
    assert (moved["holder_unit_id"], moved["level"], moved["state"]) == (
        str(world.village_a), 2, "registered"
    )  # fmt: skip
    assert (await client.get(f"/v1/cases/{cid}", headers=member)).status_code == 403
    by_head = (await client.get(f"/v1/cases/{cid}", headers=head)).json()
    assert "dispatch" in by_head["allowed_actions"]
    assert by_head["history"][-1]["detail"]["to_unit_id"] == str(world.village_a)


async def test_an_approved_delay_extends_the_stage_deadline(client: Client, world: World) -> None:
    # given a case member A1 is handling (3 working days at grid level)
    member, sup = world.headers["member_a1"], world.headers["supervisor"]
    cid = (await report(client, member))["id"]
    before = await to_handling(client, world, cid)
    entered = datetime.fromisoformat(before["stage_entered_at"])
    cal = china_calendar()
    assert datetime.fromisoformat(before["deadline"]) == cal.add_working_days(entered, 3)

    # when the member asks for 2 more working days and the supervisor approves
    asked = await done(client, member, cid, "request-delay", {"days": 2, "reason": "等待材料"})
    assert asked["pending_delay_days"] == 2
    assert "decide_delay" not in asked["allowed_actions"]
    refused = await act(client, member, cid, "decide-delay", {"approve": True})
    approved = await done(client, sup, cid, "decide-delay", {"approve": True, "comment": "同意"})

    # then only the supervisor could decide, and the deadline moved by two working days
    assert refused.status_code == 403, refused.text
    assert (approved["extension_days"], approved["pending_delay_days"]) == (2, None)
    assert datetime.fromisoformat(approved["deadline"]) == cal.add_working_days(entered, 5)
    row = await board_row(client, sup, cid)
    assert (row["deadline"], row["extension_days"]) == (approved["deadline"], 2)


async def test_a_suspended_case_shows_on_the_board_and_resumes(
    client: Client, world: World
) -> None:
    # given a case being handled
    sup = world.headers["supervisor"]
    cid = (await report(client, world.headers["member_a1"]))["id"]
    await to_handling(client, world, cid)

    # when the supervisor suspends it
    suspended = await done(client, sup, cid, "suspend", {"reason": "等待司法鉴定"})

    # then the case and its board row say so, and only resume / supervise remain
    assert (suspended["state"], suspended["suspended"]) == ("suspended", True)
    assert set(suspended["allowed_actions"]) == {"resume", "supervise"}
    row = await board_row(client, sup, cid, state="suspended")
    assert row["suspended"]
    assert row["pauses"][0]["end"] is None
    # and resuming returns to handling with the pause closed
    resumed = await done(client, sup, cid, "resume")
    assert (resumed["state"], resumed["stage"]) == ("signed_for", "handling")
    assert (await board_row(client, sup, cid))["pauses"][0]["end"] is not None


async def test_member_b1_cannot_see_or_act_on_a1s_cases(client: Client, world: World) -> None:
    # given a case in grid A1
    cid = (await report(client, world.headers["member_a1"], title="甲村机密事件"))["id"]
    b1 = world.headers["member_b1"]

    # when member B1 reads it, acts on it, or lists the board
    read = await client.get(f"/v1/cases/{cid}", headers=b1)
    handled = await act(client, b1, cid, "handle", {"result": "越权"})
    board = await client.get("/v1/case-board", headers=b1, params={"limit": 200})

    # then nothing of it reaches B1
    assert (read.status_code, read.json()["errcode"]) == (403, 40301)
    assert (handled.status_code, handled.json()["errcode"]) == (403, 40301)
    assert board.status_code == 200
    assert "甲村机密事件" not in board.text


async def test_dispatching_outside_your_scope_is_refused(client: Client, world: World) -> None:
    # given a registered case in grid A1
    head = world.headers["head_a"]
    cid = (await report(client, world.headers["member_a1"]))["id"]
    await done(client, head, cid, "accept")
    await done(client, head, cid, "register")

    # when village A's head dispatches it to B1's member, or to grid B1
    to_staff = await act(client, head, cid, "dispatch", {"staff_id": str(world.staff["member_b1"])})
    to_unit = await act(client, head, cid, "dispatch", {"unit_id": str(world.grid_b1)})

    # then both are refused as out of scope and the case still waits for dispatch
    assert [r.json()["errcode"] for r in (to_staff, to_unit)] == [40301, 40301]
    assert (await client.get(f"/v1/cases/{cid}", headers=head)).json()["state"] == "registered"
    # and a dispatch to a unit in scope works: its members may sign for it
    await done(client, head, cid, "dispatch", {"unit_id": str(world.grid_a1)})
    signed = await done(client, world.headers["member_a1"], cid, "sign-for")
    assert signed["assignee_staff_id"] == str(world.staff["member_a1"])


async def test_the_board_filters_and_pages(client: Client, world: World) -> None:
    # given two fresh hazard cases in grid A2 reported by village A's head
    head = world.headers["head_a"]
    ids = [
        (await report(client, head, category="hazard", unit_id=str(world.grid_a2)))["id"]
        for _ in range(2)
    ]

    # when the board is filtered by category and unit level, one row a page
    params = {"category": "hazard", "state": "reported", "limit": 1}
    first = (await client.get("/v1/case-board", headers=head, params=params)).json()
    second = (
        await client.get("/v1/case-board", headers=head, params=params | {"offset": 1})
    ).json()

    # then the newest comes first and the total counts both
    assert first["total"] >= 2
    assert first["items"][0]["id"] == ids[1]
    assert second["items"][0]["id"] == ids[0]
    assert first["items"][0]["colour"] in ("green", "yellow", "red")
    assert first["items"][0]["reporter_source"] == "superior"
    overdue = await client.get("/v1/case-board/overdue", headers=head)
    escalated = await client.get("/v1/case-board/escalated", headers=head)
    assert overdue.status_code == escalated.status_code == 200
    assert UUID(ids[0])  # ids are the phone's UUIDs


async def test_only_the_assignee_signs_for_a_case_dispatched_to_them(
    client: Client, world: World
) -> None:
    # given a case dispatched to member A1
    head = world.headers["head_a"]
    cid = (await report(client, world.headers["member_a1"]))["id"]
    await done(client, head, cid, "accept")
    await done(client, head, cid, "register")
    await done(client, head, cid, "dispatch", {"staff_id": str(world.staff["member_a1"])})

    # when the village head tries to sign for it in the member's place
    signed = await act(client, head, cid, "sign-for")

    # then only the assignee may: 403 (40340), and the case still waits for them
    assert (signed.status_code, signed.json()["errcode"]) == (403, 40340)
    assert (await client.get(f"/v1/cases/{cid}", headers=head)).json()["state"] == "dispatched"
