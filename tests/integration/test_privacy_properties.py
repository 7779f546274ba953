"""Property: no masked or public response carries an ID number, a resident's phone, a
special-population tag or a minor's name (privacy.md rules 3-5), whatever the households hold.

Each generated township slice is filed through the real API by the roles that may write it:
registration, two edits racing into conflicts (a child's name, a phone, the address), held
phone pushes (a stale edit, an edit of an unknown household, a registration captured before
a reassignment), a new tag, a child moving out, a commendation, a resident's case and a
published notice-board edition. Then every response that is masked for its reader or public —
household files and lists, sync pull pages, the review queue and a decision, cases and the
case board, CSV/XLSX exports as served, the notice board (draft, editions, public JSON and
HTML page), the public log, awards, profiles and supervisor queries — is read by every role
that gets it and searched for the slice's protected values
(:meth:`tests.support.pii.Township.forbidden` says what each reader may see).
"""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from anyio import to_thread
from hypothesis import HealthCheck, given, settings
from openpyxl import load_workbook

from backend.bootstrap import Container
from backend.services import reference
from backend.services.auth import auth_service
from events.meta import system_meta
from events.staff import Staff
from tests.integration.test_awards_api import define_rule, visit_to
from tests.support.households import Json, register, unique_no
from tests.support.notice_board import publish_edition
from tests.support.pii import (
    SPECIAL_TAGS,
    STAFF_PHONE,
    Household,
    Profile,
    Township,
    leaks,
    townships,
)
from tests.support.world import EPOCH, World

Client = httpx.AsyncClient
MOVED_DEVICE = "device-moved"
Seen = tuple[str, Profile, str]  # (what was read by whom, its profile, the response text)

NEED_TO_KNOW = ("member_a1", "head_a")
FIELD = ("supervisor", "mediator_a")
REVIEW = ("auditor", "admin")
EXPORTERS = ("head_a", "supervisor", "admin", "auditor")
IN_SCOPE = (*NEED_TO_KNOW, *FIELD, *REVIEW)  # every reader whose scope holds grid A1
PROFILE_OF = {
    **dict.fromkeys(NEED_TO_KNOW, Profile.NEED_TO_KNOW),
    **dict.fromkeys(FIELD, Profile.FIELD),
    **dict.fromkeys(REVIEW, Profile.REVIEW),
    "member_b1": Profile.PUBLIC,  # outside grid A1: nothing of it at all
}

_SETTINGS = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
async def star_rule(container: Container) -> str:
    await reference.ensure_default_categories(container)  # the case below is "sanitation"
    return await define_rule(
        container, "manual_commendation", 5, commendation="star_civilised_household"
    )


@pytest.fixture(scope="module")
async def moved_member(container: Container, world: World) -> dict[str, str]:
    """Headers of a grid member who held grid A1 until two days ago and now holds A2: work
    they captured in A1 before the move is held for a supervisor's review."""

    def appoint_then_move() -> tuple[UUID, int]:
        meta = system_meta("tests")
        staff = Staff.appoint(
            name="测试moved", work_phone=STAFF_PHONE, role="grid_member",
            scope_unit_id=world.grid_a1, effective_from=EPOCH, meta=meta,
        )  # fmt: skip
        moved_on = (datetime.now(UTC) - timedelta(days=2)).date()
        staff.reassign(role="grid_member", scope_unit_id=world.grid_a2, effective_from=moved_on,
                       meta=meta)  # fmt: skip
        return staff.id, int(container.event_log.save(staff)[-1].notification.id)

    staff_id, position = await to_thread.run_sync(appoint_then_move)
    await container.runner.wait_for(position)
    pair = await auth_service(container).dev_login(staff_id, MOVED_DEVICE)
    return {"Authorization": f"Bearer {pair.access_token}"}


async def ok(call: Awaitable[httpx.Response], *statuses: int) -> httpx.Response:
    response = await call
    assert response.status_code in (statuses or (200,)), response.text
    return response


# --- given: a township slice filed through the API -------------------------------------------


@dataclass
class Filed:
    """What the writers got back, and the ids the readers look up."""

    households: list[str] = field(default_factory=list)
    case_id: str = ""
    held_registration: str = ""
    seen: list[Seen] = field(default_factory=list)


async def file_township(
    client: Client, world: World, moved: dict[str, str], rule: str, township: Township
) -> Filed:
    """Register, edit into conflicts, push held edits, commend, report, publish a board."""
    filed = Filed()
    for n, household in enumerate(township.households):
        writer = NEED_TO_KNOW[n % 2]
        created = await register(client, world.headers[writer], household.body(world.grid_a1))
        answer = json.dumps(created, ensure_ascii=False)
        filed.seen.append((f"registerHousehold as {writer}", Profile.NEED_TO_KNOW, answer))
        filed.households.append(created["id"])
        await commend(client, world, rule, created["id"])
    filed.seen += await race_edits(client, world, filed.households[0], township)
    await push_held_edits(client, world, filed.households[0], township)
    filed.seen += await retag_and_move_out(client, world, filed.households[0], township)
    filed.held_registration = await push_registration_captured_before_a_move(
        client, world, moved, township
    )
    filed.case_id = await report_case(client, world, filed.households[0], township)
    await publish_edition(client, world.headers, world.village_a)
    return filed


async def race_edits(client: Client, world: World, household_id: str, t: Township) -> list[Seen]:
    """Two phones edit version 1: the second one's child name, phone and address conflict."""
    first = t.households[0]
    child, head = first.child.person_id, first.head.person_id
    url = f"/v1/households/{household_id}/updates"

    def edit(name: str, phone: str, side: str) -> list[Json]:
        return [
            {"path": f"persons/{child}/name", "value": name},
            {"path": f"persons/{head}/phone", "value": phone},
            {"path": "address", "value": first.address + side},
        ]

    notes = {"path": "notes", "value": f"证件{t.free_text[0]} 电话{t.free_text[1]}"}
    mine = [*edit(t.renames[0], first.persons[1].phone or first.phone, "东侧"), notes]
    applied = await ok(client.post(url, headers=world.headers["member_a1"],
                                   json={"base_version": 1, "changes": mine}))  # fmt: skip
    theirs = edit(t.renames[1], first.phone, "西侧")
    raced = await ok(client.post(url, headers=world.headers["head_a"],
                                 json={"base_version": 1, "changes": theirs}))  # fmt: skip
    assert len(raced.json()["conflict_ids"]) == 3, raced.text
    return [
        ("updateHousehold as member_a1", Profile.NEED_TO_KNOW, applied.text),
        ("updateHousehold as head_a", Profile.NEED_TO_KNOW, raced.text),
    ]


async def retag_and_move_out(
    client: Client, world: World, household_id: str, t: Township
) -> list[Seen]:
    """The grid head tags the youth with one more special status; the child may move out."""
    first = t.households[0]
    youth = first.persons[3]
    tag = next(code for code in SPECIAL_TAGS if code not in youth.tags)
    url = f"/v1/households/{household_id}/persons"
    tagged = await ok(client.post(f"{url}/{youth.person_id}/tag", headers=world.headers["head_a"],
                                  json={"tag": tag}))  # fmt: skip
    seen = [("tagHouseholdPerson as head_a", Profile.NEED_TO_KNOW, tagged.text)]
    if t.child_moves_out:
        removed = await ok(client.post(f"{url}/{first.child.person_id}/remove",
                                       headers=world.headers["member_a1"],
                                       json={"reason": "moved_out"}))  # fmt: skip
        seen.append(("removeHouseholdPerson as member_a1", Profile.NEED_TO_KNOW, removed.text))
    return seen


async def push_held_edits(client: Client, world: World, household_id: str, t: Township) -> None:
    """A phone offline since version 1 pushes its edit (a conflict held for review) and an
    edit of a household the server does not know yet (deferred): both carry protected
    values the review queue shows."""
    first = t.households[0]
    stale = [
        {"path": f"persons/{first.child.person_id}/name", "value": t.renames[2]},
        {"path": f"persons/{first.head.person_id}/phone", "value": first.persons[1].phone},
    ]
    unknown_person = str(uuid.uuid4())
    early = [
        {"path": f"persons/{unknown_person}/name", "value": first.child.name},
        {"path": f"persons/{unknown_person}/id_number", "value": first.child.id_number},
        {"path": "phone", "value": first.phone},
    ]
    events = [
        push_event("household.edited", {"household_id": household_id, "changes": stale}, 1),
        push_event("household.edited", {"household_id": str(uuid.uuid4()), "changes": early}, 1),
    ]
    body = {"protocol": 1, "device_id": "device-member_a1",
            "device_clock": "2026-03-02T09:05:00+08:00", "events": events}  # fmt: skip
    pushed = await ok(client.post("/v1/sync/push", headers=world.headers["member_a1"], json=body))
    assert [r["status"] for r in pushed.json()["results"]] == ["conflict", "deferred"], pushed.text


def push_event(kind: str, payload: Json, base_version: int | None = None, **extra: Any) -> Json:
    return {"event_id": str(uuid.uuid4()), "device_seq": 1, "type": kind,
            "captured_at": "2026-03-02T09:00:00+08:00", "payload": payload,
            **({"base_version": base_version} if base_version else {}), **extra}  # fmt: skip


async def push_registration_captured_before_a_move(
    client: Client, world: World, moved: dict[str, str], t: Township
) -> str:
    """The moved member's phone registers a household it captured in A1: held for review."""
    captured = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    registration = {**t.households[-1].body(world.grid_a1), "household_no": unique_no("MV")}
    event = push_event("household.registered", registration, captured_at=captured)
    body = {"protocol": 1, "device_id": MOVED_DEVICE, "device_clock": captured, "events": [event]}
    pushed = await ok(client.post("/v1/sync/push", headers=moved, json=body))
    assert [r["status"] for r in pushed.json()["results"]] == ["review"], pushed.text
    return str(event["event_id"])


async def commend(client: Client, world: World, rule: str, household_id: str) -> None:
    head = world.headers["head_a"]
    source = await visit_to(client, head, household_id)  # the 评星 visit the award cites
    proposal = await ok(client.post("/v1/awards", headers=head, json={
        "rule_code": rule, "source_event_id": source, "owner_kind": "household",
        "owner_id": household_id, "reason": "邻里和睦"}), 201)  # fmt: skip
    approve = f"/v1/awards/{proposal.json()['id']}/approve"
    await ok(client.post(approve, headers=world.headers["supervisor"]))


async def report_case(client: Client, world: World, household_id: str, t: Township) -> str:
    first: Household = t.households[0]
    case_id = str(uuid.uuid4())
    await ok(client.post("/v1/cases", headers=world.headers["member_a1"], json={
        "id": case_id, "category": "sanitation", "title": "门前排水沟堵塞",
        "description": f"居民反映，回电{t.free_text[1]}，身份证{t.free_text[0]}",
        "location": "甲村村口", "source": "resident", "contact_name": first.head.name,
        "contact_phone": first.head.phone, "household_id": household_id}), 201)  # fmt: skip
    return case_id


# --- when: every masked or public response, read by every role that gets one ----------------


async def household_reads(client: Client, world: World, ids: list[str]) -> list[Seen]:
    seen: list[Seen] = []
    for who, profile in PROFILE_OF.items():
        h = world.headers[who]
        for hid in ids:
            one = await ok(client.get(f"/v1/households/{hid}", headers=h), *statuses_for(who))
            seen.append((f"getHousehold as {who}", profile, one.text))
        page = await ok(client.get("/v1/households", headers=h, params={"limit": 200}))
        seen.append((f"listHouseholds as {who}", profile, page.text))
        # the reads are not vacuous: whoever holds grid A1 finds the households in the list
        assert (ids[0] in page.text) is (who in IN_SCOPE), who
    return seen


def statuses_for(who: str) -> tuple[int, ...]:
    return (200,) if who in IN_SCOPE else (403, 404)


async def pulls(client: Client, world: World, household_id: str) -> list[Seen]:
    seen: list[Seen] = []
    for who, profile in PROFILE_OF.items():
        pages = [
            json.dumps(rows, ensure_ascii=False) for rows in await pull_pages(client, world, who)
        ]
        seen += [(f"syncPull as {who}", profile, text) for text in pages]
        assert any(household_id in text for text in pages) is (who in IN_SCOPE), who
    return seen


async def pull_pages(client: Client, world: World, who: str) -> list[list[Json]]:
    """The rows of every page of a pull from scratch, without the reference data."""
    pages: list[list[Json]] = []
    body: Json = {"protocol": 1, "device_id": f"device-{who}", "limit": 500}
    while True:
        response = await ok(client.post("/v1/sync/pull", headers=world.headers[who], json=body))
        page = response.json()
        pages.append([op for op in page["ops"] if op["kind"] not in REFERENCE_KINDS])
        if not page["has_more"]:
            return pages
        body["cursor"] = page["cursor"]


# The reference bucket is the product's vocabulary (categories, point and SLA rules): the same
# for everybody and about nobody, so a word like 低保 in a category label is no one's status.
REFERENCE_KINDS = frozenset({"category", "point_rule", "sla_rule"})


async def review_queue(client: Client, world: World) -> list[Seen]:
    seen: list[Seen] = []
    for who, profile in PROFILE_OF.items():
        for status in ("conflict", "review", "deferred"):
            params = {"status": status, "limit": 200}
            url = "/v1/sync/review"
            queue = await ok(client.get(url, headers=world.headers[who], params=params))
            seen.append((f"listSyncReview?status={status} as {who}", profile, queue.text))
            assert (queue.json()["total"] > 0) is (who in IN_SCOPE), (who, status)
    return seen


async def decide_held_registration(client: Client, world: World, event_id: str) -> list[Seen]:
    """The supervisor accepts the held registration: the decision answer shows its payload."""
    url = f"/v1/sync/review/{event_id}/accept"
    accepted = await ok(client.post(url, headers=world.headers["supervisor"]))
    assert accepted.json()["status"] == "accepted", accepted.text
    return [("acceptSyncReview as supervisor", Profile.FIELD, accepted.text)]


async def case_reads(client: Client, world: World, case_id: str) -> list[Seen]:
    seen: list[Seen] = []
    for who in PROFILE_OF:
        one = await ok(
            client.get(f"/v1/cases/{case_id}", headers=world.headers[who]), *statuses_for(who)
        )
        seen.append((f"getCase as {who}", PROFILE_OF[who], one.text))
        board = await ok(client.get("/v1/case-board", headers=world.headers[who]))
        seen.append((f"listCaseBoard as {who}", PROFILE_OF[who], board.text))
    return seen


async def exports(client: Client, world: World, household_no: str) -> list[Seen]:
    seen: list[Seen] = []
    for who in EXPORTERS:
        for what, fmt in (("households", "csv"), ("households", "xlsx"), ("cases", "csv")):
            filters = {"grid_id": str(world.grid_a1)} if what == "households" else {}
            body = {"what": what, "format": fmt, "reason": "核对台账", "filters": filters}
            response = await ok(client.post("/v1/exports", headers=world.headers[who], json=body))
            text = response.content.decode("utf-8-sig") if fmt == "csv" else cells(response)
            seen.append((f"export {what}.{fmt} as {who}", Profile.EXPORT, text))
            assert what == "cases" or household_no in text, (who, fmt)
    return seen


def cells(response: httpx.Response) -> str:
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    assert sheet is not None
    return "\n".join(
        "\t".join("" if v is None else str(v) for v in row)
        for row in sheet.iter_rows(values_only=True)
    )


async def notice_board(client: Client, world: World) -> list[Seen]:
    draft = await ok(client.post("/v1/notice-board/editions", headers=world.headers["supervisor"],
                                 json={"unit_id": str(world.village_a)}), 201)  # fmt: skip
    editions = await ok(client.get(f"/v1/notice-board/units/{world.village_a}/editions",
                                   headers=world.headers["head_a"]))  # fmt: skip
    board = await ok(client.get(f"/v1/public/notice-board/{world.village_a}"))
    page = await ok(client.get(f"/public/notice-board/{world.village_a}"))
    checkpoint = await ok(client.get("/v1/public/log/checkpoint"), 200, 404)
    return [
        ("draft edition", Profile.PUBLIC, draft.text),
        ("listNoticeBoardEditions as head_a", Profile.PUBLIC, editions.text),
        ("public board JSON", Profile.PUBLIC, board.text),
        ("public board page", Profile.PUBLIC, page.text),
        ("public log checkpoint", Profile.PUBLIC, checkpoint.text),
    ]


async def other_reads(client: Client, world: World) -> list[Seen]:
    """Awards, a member's profile and the supervisor's queries name staff and count
    households; none of them may carry a resident's data."""
    reads = (
        ("listAwards", "auditor", Profile.REVIEW, "/v1/awards"),
        ("getMemberProfile", "supervisor", Profile.FIELD,
         f"/v1/members/{world.staff['member_a1']}/profile"),
        ("listGridCoverage", "supervisor", Profile.FIELD, "/v1/coverage/grids"),
        ("rankMembers", "supervisor", Profile.FIELD, "/v1/rankings/members"),
    )  # fmt: skip
    seen: list[Seen] = []
    for operation, who, profile, url in reads:
        response = await ok(client.get(url, headers=world.headers[who]))
        seen.append((f"{operation} as {who}", profile, response.text))
    return seen


# --- then -------------------------------------------------------------------------------------


def leaked(township: Township, seen: list[Seen]) -> list[tuple[str, str, str]]:
    return [
        (what, kind, value)
        for what, profile, text in seen
        for kind, value in leaks(text, township.forbidden(profile))
    ]


async def test_no_masked_or_public_response_carries_protected_values(
    client: Client, world: World, moved_member: dict[str, str], star_rule: str
) -> None:
    loop = asyncio.get_running_loop()

    async def scenario(township: Township) -> None:
        # given a slice of grid A1 full of ID numbers, phones, tags and children, filed
        filed = await file_township(client, world, moved_member, star_rule, township)
        # when every masked or public response is read by every role that gets one
        seen = [
            *filed.seen,
            *await household_reads(client, world, filed.households),
            *await pulls(client, world, filed.households[0]),
            *await review_queue(client, world),
            *await decide_held_registration(client, world, filed.held_registration),
            *await case_reads(client, world, filed.case_id),
            *await exports(client, world, township.households[0].house_no),
            *await notice_board(client, world),
            *await other_reads(client, world),
        ]
        # then none of them carries what its reader may not see
        found = leaked(township, seen)
        assert found == [], "\n".join(map(str, found))

    @_SETTINGS
    @given(township=townships())
    def check(township: Township) -> None:
        asyncio.run_coroutine_threadsafe(scenario(township), loop).result(timeout=120)

    await to_thread.run_sync(check)
