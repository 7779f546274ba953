"""Push of field-captured facts: mediations opened and awards proposed offline (DESIGN §4)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from backend.bootstrap import Container
from events.award import Award
from events.household import Household
from events.points import PointsAccount
from tests.integration.test_awards_api import case_about, define_rule, visit_to
from tests.integration.test_sync_push import _reassign, event_status, now, push, statuses, visit
from tests.support.households import household_body, register, unique_no
from tests.support.world import World, build_world

Json = dict[str, Any]


@pytest.fixture(scope="module")
async def rule(container: Container) -> str:
    return await define_rule(container, "mediation_agreement", 5)


@pytest.fixture(scope="module")
async def visit_rule(container: Container) -> str:
    return await define_rule(container, "visit_recorded", 2)


def event(kind: str, payload: Json, *, seq: int = 1, event_id: str | None = None) -> Json:
    return {
        "event_id": event_id or str(uuid4()), "device_seq": seq, "type": kind,
        "captured_at": now(), "payload": payload,
    }  # fmt: skip


def opened(world: World, applicant: str, respondent: str) -> Json:
    """A mediation between two households, as the phone pushes it (its id is the event's)."""
    return event("mediation.opened", {
        "parties": [
            {"kind": "household", "ref_id": applicant, "role": "applicant"},
            {"kind": "household", "ref_id": respondent, "role": "respondent"},
        ],
        "mediators": [
            {"name": "调解员甲", "kind": "mediator", "staff_id": str(world.staff["mediator_a"])},
            {"name": "老党员王伯", "kind": "wulao"},
        ],
    })  # fmt: skip


def proposed(code: str, owner_id: str, *, source: str | None = None) -> Json:
    return event("award.proposed", {
        "rule_code": code, "source_event_id": source or str(uuid4()),
        "owner_kind": "household", "owner_id": owner_id, "reason": "主动化解邻里纠纷",
    })  # fmt: skip


async def agreed(client: httpx.AsyncClient, world: World, *households: str) -> str:
    """A mediation between the households, held and concluded with an agreement over HTTP."""
    opening = opened(world, *households)
    body = {**opening["payload"], "mediation_id": opening["event_id"]}
    member = world.headers["member_a1"]
    assert (await client.post("/v1/mediations", headers=member, json=body)).status_code == 201
    path = f"/v1/mediations/{opening['event_id']}"
    session = {"session_id": str(uuid4()), "held_at": now(), "notes": "调解",
               "attendees": list(households)}  # fmt: skip
    assert (await client.post(f"{path}/sessions", headers=member, json=session)).status_code == 200
    ended = await client.post(
        f"{path}/conclude", headers=member,
        json={"outcome": "agreement", "agreement_summary": "互谅互让"},
    )  # fmt: skip
    assert ended.status_code == 200, ended.text
    return opening["event_id"]


async def households(client: httpx.AsyncClient, world: World, n: int = 2) -> list[str]:
    admin = world.headers["admin"]
    return [(await register(client, admin, household_body(world.grid_a1)))["id"] for _ in range(n)]


async def settled(container: Container) -> None:
    await container.runner.wait_for(await container.runner.head())


async def results(
    client: httpx.AsyncClient, world: World, who: str, events: list[Json]
) -> list[Json]:
    response = await push(client, world, who, events)
    assert response.status_code == 200, response.text
    found: list[Json] = response.json()["results"]
    return found


async def test_a_mediation_opened_offline_is_accepted_once(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    # given two households of grid A1 in a dispute, opened on member A1's phone offline
    applicant, respondent = await households(client, world)
    opening = opened(world, applicant, respondent)
    # when the phone pushes it, and pushes it again after a lost response
    first = await statuses(client, world, "member_a1", [opening])
    again = await statuses(client, world, "member_a1", [opening])
    # then it is opened once, under the event id, by the member
    assert (first, again) == (["accepted"], ["duplicate"])
    await settled(container)
    stored = await client.get(
        f"/v1/mediations/{opening['event_id']}", headers=world.headers["supervisor"]
    )
    assert stored.status_code == 200, stored.text
    assert stored.json()["state"] == "open"
    assert {p["ref_id"] for p in stored.json()["parties"]} == {applicant, respondent}


async def test_a_mediation_is_opened_under_the_event_id_whatever_the_payload_says(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    applicant, respondent = await households(client, world)
    opening = opened(world, applicant, respondent)
    other = str(uuid4())
    opening["payload"]["mediation_id"] = other
    assert await statuses(client, world, "member_a1", [opening]) == ["accepted"]
    await settled(container)
    supervisor = world.headers["supervisor"]
    by_event = await client.get(f"/v1/mediations/{opening['event_id']}", headers=supervisor)
    by_payload = await client.get(f"/v1/mediations/{other}", headers=supervisor)
    assert (by_event.status_code, by_payload.status_code) == (200, 404)


async def test_a_mediation_naming_an_unknown_household_waits_for_it(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    from backend.services.sync_review import release_deferred

    # given a household registered on another phone, not yet pushed
    [applicant] = await households(client, world, n=1)
    number = unique_no()
    unknown = str(Household.id_for_number(number))
    opening = opened(world, applicant, unknown)
    # when the mediation arrives first
    [result] = await results(client, world, "member_a1", [opening])
    # then it is deferred, waiting for the household
    assert result["status"] == "deferred"
    assert result["waiting_for"] == [{"kind": "household", "id": unknown}]
    # when the household arrives, the server opens the held mediation itself
    registration = event("household.registered", household_body(world.grid_a1, household_no=number))
    assert await statuses(client, world, "head_a", [registration]) == ["accepted"]
    await settled(container)
    await release_deferred(container)  # (the sync worker, woken by the push, may be first)
    await settled(container)
    stored = await client.get(
        f"/v1/mediations/{opening['event_id']}", headers=world.headers["supervisor"]
    )
    assert stored.status_code == 200, stored.text
    again = await results(client, world, "member_a1", [opening])
    assert again[0]["status"] == "duplicate"


async def test_an_award_proposed_offline_is_listed_with_its_derived_id(
    client: httpx.AsyncClient, world: World, container: Container, rule: str
) -> None:
    # given a household of grid A1 without a points account yet, party to an agreement
    owner, other = await households(client, world)
    proposal = proposed(rule, owner, source=await agreed(client, world, owner, other))
    # when member A1's phone pushes the proposal
    assert await statuses(client, world, "member_a1", [proposal]) == ["accepted"]
    # then the award has the id derived from (rule, source event, account), and is listed
    account_id = PointsAccount.id_for("household", UUID(owner))
    award_id = Award.id_for(rule, UUID(proposal["payload"]["source_event_id"]), account_id)
    await settled(container)
    listed = await client.get(
        "/v1/awards", headers=world.headers["head_a"], params={"owner_id": owner}
    )
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [(i["id"], i["state"], i["rule_points"]) for i in items] == [
        (str(award_id), "proposed", 5)
    ]
    # and the account was opened with it
    account = await client.get(
        f"/v1/points-accounts/household/{owner}", headers=world.headers["supervisor"]
    )
    assert account.status_code == 200, account.text


async def test_the_same_award_from_two_events_is_one_award_and_the_second_is_refused(
    client: httpx.AsyncClient, world: World, container: Container, rule: str
) -> None:
    owner, other = await households(client, world)
    source = await agreed(client, world, owner, other)
    other_source = await agreed(client, world, other, owner)
    # given an award proposed from one event
    assert await statuses(client, world, "member_a1", [proposed(rule, owner, source=source)]) == [
        "accepted"
    ]
    # when another event (say, a second phone) proposes the same rule, source and owner
    [second] = await results(client, world, "member_a1", [proposed(rule, owner, source=source)])
    # and a batch carries the same proposal twice under two event ids
    twins = [proposed(rule, owner, source=other_source) for _ in range(2)]
    batch = await results(client, world, "member_a1", twins)
    # then the first proposal stands and the later ones are refused 40911, naming the award
    account_id = PointsAccount.id_for("household", UUID(owner))
    award_id = Award.id_for(rule, UUID(source), account_id)
    assert (second["status"], second["errcode"]) == ("rejected", 40911)
    assert str(award_id) in second["reason"]
    assert [(r["status"], r.get("errcode")) for r in batch] == [
        ("accepted", None),
        ("rejected", 40911),
    ]
    await settled(container)
    listed = await client.get(
        "/v1/awards", headers=world.headers["head_a"], params={"owner_id": owner}
    )
    assert listed.json()["total"] == 2


async def test_field_facts_outside_the_members_scope_are_refused(
    client: httpx.AsyncClient, world: World, rule: str
) -> None:
    # given households of grid A1, and member B1 who never held grid A1
    applicant, respondent = await households(client, world)
    events = [opened(world, applicant, respondent), proposed(rule, applicant)]
    # when member B1's phone pushes a mediation and an award about them
    found = await results(client, world, "member_b1", events)
    # then both are refused for scope, and nothing is written
    assert [(r["status"], r["errcode"]) for r in found] == [("rejected", 40301)] * 2
    missing = await client.get(
        f"/v1/mediations/{events[0]['event_id']}", headers=world.headers["supervisor"]
    )
    assert missing.status_code == 404


async def test_a_reassigned_members_offline_mediation_and_award_go_to_review(
    client: httpx.AsyncClient, world: World, container: Container, rule: str
) -> None:
    from datetime import timedelta

    own = await build_world(container)
    applicant, respondent = await households(client, own)
    # given a mediation and an award captured in grid A1 three days ago, while it was theirs,
    events = [opened(own, applicant, respondent), proposed(rule, applicant)]
    for captured in events:
        captured["captured_at"] = now(-timedelta(days=3))
    # and a reassignment to grid A2 two days ago
    await _reassign(container, own.staff["member_a1"], own.grid_a2, days_ago=2)
    # when the phone pushes, both go to review for a person to decide
    found = await results(client, own, "member_a1", events)
    assert [(r["status"], r["errcode"]) for r in found] == [("review", 40361)] * 2
    # when the grid head accepts the mediation, it is opened as the member's
    await settled(container)
    accepted = await client.post(
        f"/v1/sync/review/{events[0]['event_id']}/accept", headers=own.headers["head_a"]
    )
    assert (accepted.status_code, accepted.json()["status"]) == (200, "accepted"), accepted.text
    await settled(container)
    stored = await client.get(
        f"/v1/mediations/{events[0]['event_id']}", headers=own.headers["supervisor"]
    )
    assert stored.status_code == 200, stored.text


async def test_an_award_may_cite_a_visit_pushed_before_it_in_the_same_batch(
    client: httpx.AsyncClient, world: World, container: Container, visit_rule: str
) -> None:
    # given a visit and an award for it, captured offline one after the other
    [owner] = await households(client, world, n=1)
    seen = visit(owner, seq=1)
    award = proposed(visit_rule, owner, source=seen["event_id"])
    award["device_seq"] = 2
    # when the phone pushes both in one batch
    found = await results(client, world, "member_a1", [seen, award])
    # then both are accepted, the award citing the visit
    assert [r["status"] for r in found] == ["accepted", "accepted"]
    await settled(container)
    listed = await client.get(
        "/v1/awards", headers=world.headers["head_a"], params={"owner_id": owner}
    )
    assert [i["source_event_id"] for i in listed.json()["items"]] == [seen["event_id"]]


async def test_an_award_waits_for_its_household_then_its_source_and_says_so(
    client: httpx.AsyncClient, world: World, container: Container, visit_rule: str
) -> None:
    from backend.services.sync_review import release_deferred

    # given a household registered on another phone and a visit to it, neither pushed yet,
    # and an award citing that visit
    number = unique_no()
    owner = str(Household.id_for_number(number))
    seen = visit(owner)
    award = proposed(visit_rule, owner, source=seen["event_id"])
    # when the award arrives first, it waits for the household
    [first] = await results(client, world, "member_a1", [award])
    assert (first["status"], first["waiting_for"]) == (
        "deferred", [{"kind": "household", "id": owner}],
    )  # fmt: skip
    # when the household arrives, the award now waits for its source visit, and says so
    registration = event("household.registered", household_body(world.grid_a1, household_no=number))
    assert await statuses(client, world, "head_a", [registration]) == ["accepted"]
    await settled(container)
    await release_deferred(container)
    await settled(container)
    status = await event_status(client, world, "member_a1", award["event_id"])
    assert (status["status"], status["waiting_for"]) == (
        "deferred", [{"kind": "visit", "id": seen["event_id"]}],
    )  # fmt: skip
    again = await results(client, world, "member_a1", [award])
    assert again[0]["waiting_for"] == [{"kind": "visit", "id": seen["event_id"]}]
    # when the visit arrives, the award is applied, waiting for nothing
    assert await statuses(client, world, "member_a1", [seen]) == ["accepted"]
    await settled(container)
    await release_deferred(container)
    await settled(container)
    status = await event_status(client, world, "member_a1", award["event_id"])
    assert (status["status"], status["waiting_for"]) == ("accepted", [])
    listed = await client.get(
        "/v1/awards", headers=world.headers["head_a"], params={"owner_id": owner}
    )
    assert listed.json()["total"] == 1


async def test_a_pushed_award_with_a_bad_source_is_refused_as_over_http(
    client: httpx.AsyncClient, world: World, container: Container, visit_rule: str
) -> None:
    # given a household of grid A1, and sources that do not earn its visit award
    owner, neighbour = await households(client, world)
    member = world.headers["member_a1"]
    voided = await visit_to(client, member, owner)
    gone = await client.post(f"/v1/visits/{voided}/void", headers=member, json={"reason": "错录"})
    assert gone.status_code == 200, gone.text
    elsewhere = await register(client, world.headers["admin"], household_body(world.grid_b1))
    sources = [
        await case_about(client, world, container, owner),  # a case, for a visit rule
        await visit_to(client, member, neighbour),  # about the neighbours
        voided,
        await visit_to(client, world.headers["member_b1"], elsewhere["id"]),  # outside A1
    ]
    proposals = [proposed(visit_rule, owner, source=s) for s in sources]
    # when the phone pushes the awards
    found = await results(client, world, "member_a1", proposals)
    # then each is rejected with the errcode HTTP answers, and none is written
    assert [(r["status"], r["errcode"]) for r in found] == [
        ("rejected", 40030), ("rejected", 40031), ("rejected", 40932), ("rejected", 40301),
    ]  # fmt: skip
    for proposal in proposals:
        http = await client.post("/v1/awards", headers=member, json=proposal["payload"])
        assert http.json()["errcode"] == found[proposals.index(proposal)]["errcode"]
    await settled(container)
    listed = await client.get(
        "/v1/awards", headers=world.headers["head_a"], params={"owner_id": owner}
    )
    assert listed.json()["total"] == 0
