"""Mediation (调解) over HTTP on the real services: opened from a phone, sessions, an agreement
with its photo and a follow-up visit; scope by the parties' households; bad input writes
nothing."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import pytest

from tests.support.households import Json, household_body, person, register
from tests.support.world import World

Client = httpx.AsyncClient


@pytest.fixture(scope="module")
async def parties(client: Client, world: World) -> dict[str, str]:
    """Two households of grid A1 in a dispute (the respondent named by its head), one in B1."""
    admin = world.headers["admin"]
    applicant = await register(client, admin, household_body(world.grid_a1))
    respondent = await register(
        client, admin, household_body(world.grid_a1, persons=[person("赵邻居", "户主")])
    )
    elsewhere = await register(client, admin, household_body(world.grid_b1))
    return {
        "applicant": applicant["id"],
        "respondent_person": respondent["persons"][0]["person_id"],
        "respondent": respondent["id"],
        "elsewhere": elsewhere["id"],
    }


def opening(world: World, parties: dict[str, str], **extra: Any) -> Json:
    return {
        "mediation_id": str(uuid.uuid4()),
        "parties": [
            {"kind": "household", "ref_id": parties["applicant"], "role": "applicant"},
            {"kind": "person", "ref_id": parties["respondent_person"], "role": "respondent"},
        ],
        "mediators": [
            {"name": "调解员甲", "kind": "mediator", "staff_id": str(world.staff["mediator_a"])},
            {"name": "老党员王伯", "kind": "wulao"},
        ],
        **extra,
    }


async def hold_session(client: Client, world: World, path: str, *attendees: str) -> Json:
    """A session of the mediation at ``path`` (``/v1/mediations/<id>``), recorded by its opener."""
    session = {
        "session_id": str(uuid.uuid4()), "held_at": "2026-03-05T14:00:00+08:00",
        "notes": "听取双方陈述", "attendees": list(attendees),
    }  # fmt: skip
    recorded = await client.post(
        f"{path}/sessions", headers=world.headers["member_a1"], json=session
    )
    assert recorded.status_code == 200, recorded.text
    return session


async def mediation_exists(client: Client, world: World, mediation_id: str) -> bool:
    response = await client.get(
        f"/v1/mediations/{mediation_id}", headers=world.headers["supervisor"]
    )
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


async def test_a_dispute_mediated_to_an_agreement_and_followed_up(
    client: Client, world: World, parties: dict[str, str]
) -> None:
    # given member A1 opens a mediation between two households of the grid (re-sent once)
    member = world.headers["member_a1"]
    body = opening(world, parties)
    opened = await client.post("/v1/mediations", headers=member, json=body)
    resent = await client.post("/v1/mediations", headers=member, json=body)
    assert opened.status_code == 201, opened.text
    assert (resent.status_code, resent.json()["duplicate"]) == (200, True)
    path = f"/v1/mediations/{body['mediation_id']}"

    # when the mediator holds a session (sent twice), and it ends in a signed agreement
    session = {
        "session_id": str(uuid.uuid4()),
        "held_at": "2026-03-05T14:00:00+08:00",
        "notes": "双方就宅基地边界达成初步共识",
        "attendees": [parties["applicant"], str(world.staff["mediator_a"])],
    }
    mediator = world.headers["mediator_a"]
    for _ in range(2):
        recorded = await client.post(f"{path}/sessions", headers=mediator, json=session)
        assert recorded.status_code == 200, recorded.text
    photo = hashlib.sha256(b"agreement" + uuid.uuid4().bytes).hexdigest()
    concluded = await client.post(
        f"{path}/conclude",
        headers=mediator,
        json={
            "outcome": "agreement",
            "agreement_summary": "以界桩为准，互不侵占",
            "agreement_photo": photo,
            "follow_up_due": "2026-04-05",
        },
    )

    # then the register shows one session and the agreement, its photo still pending
    assert concluded.status_code == 200, concluded.text
    view = concluded.json()
    assert (view["state"], view["outcome"], view["follow_up_due"]) == (
        "concluded",
        "agreement",
        "2026-04-05",
    )
    assert len(view["sessions"]) == 1
    assert view["agreement_photo"] == {"sha256": photo, "pending": True}

    # and a later session is refused with the state named
    late = {**session, "session_id": str(uuid.uuid4())}
    refused = await client.post(f"{path}/sessions", headers=mediator, json=late)
    assert (refused.status_code, refused.json()["errcode"]) == (409, 40910)
    assert refused.json()["state"] == "concluded"

    # when member A1 visits the applicant and records the follow-up
    visit_id = str(uuid.uuid4())
    visit = await client.post(
        "/v1/visits",
        headers=member,
        json={
            "visit_id": visit_id,
            "household_id": parties["applicant"],
            "purpose": "follow_up",
            "method": "in_person",
            "visited_at": "2026-04-05T10:00:00+08:00",
        },
    )
    assert visit.status_code == 201, visit.text
    followed = await client.post(
        f"{path}/follow-ups", headers=member, json={"visit_id": visit_id, "result": "协议履行良好"}
    )

    # then it is on the register, and the list of agreements in the village shows it
    assert followed.status_code == 200, followed.text
    assert [f["visit_id"] for f in followed.json()["follow_ups"]] == [visit_id]
    listed = await client.get(
        "/v1/mediations", headers=world.headers["head_a"], params={"outcome": "agreement"}
    )
    assert body["mediation_id"] in [m["id"] for m in listed.json()["items"]]
    other = await client.get("/v1/mediations", headers=world.headers["member_b1"])
    assert body["mediation_id"] not in [m["id"] for m in other.json()["items"]]


async def test_the_same_id_with_other_parties_is_refused(
    client: Client, world: World, parties: dict[str, str]
) -> None:
    member = world.headers["member_a1"]
    body = opening(world, parties)
    assert (await client.post("/v1/mediations", headers=member, json=body)).status_code == 201
    swapped = {**body, "mediators": body["mediators"][:1]}

    response = await client.post("/v1/mediations", headers=member, json=swapped)

    assert (response.status_code, response.json()["errcode"]) == (409, 40911)
    stored = (await client.get(f"/v1/mediations/{body['mediation_id']}", headers=member)).json()
    assert len(stored["mediators"]) == 2


async def test_a_follow_up_must_be_a_visit_to_a_party(
    client: Client, world: World, parties: dict[str, str]
) -> None:
    # given a failed mediation and a visit to a household that is not a party
    member = world.headers["member_a1"]
    body = opening(world, parties)
    assert (await client.post("/v1/mediations", headers=member, json=body)).status_code == 201
    path = f"/v1/mediations/{body['mediation_id']}"
    await hold_session(client, world, path, parties["applicant"])
    ended = await client.post(f"{path}/conclude", headers=member, json={"outcome": "failed"})
    assert ended.status_code == 200, ended.text
    outsider = await register(client, world.headers["admin"], household_body(world.grid_a1))
    visit_id = str(uuid.uuid4())
    visit = {
        "visit_id": visit_id,
        "household_id": outsider["id"],
        "purpose": "routine",
        "method": "phone",
        "visited_at": "2026-04-05T10:00:00+08:00",
    }
    assert (await client.post("/v1/visits", headers=member, json=visit)).status_code == 201

    # when it is recorded as the follow-up
    response = await client.post(
        f"{path}/follow-ups", headers=member, json={"visit_id": visit_id, "result": "无关"}
    )

    # then it is refused and the register has no follow-up
    assert (response.status_code, response.json()["errcode"]) == (400, 40010)
    assert (await client.get(path, headers=member)).json()["follow_ups"] == []


@pytest.mark.parametrize(
    ("change", "status", "errcode"),
    [
        ({"unknown_party": True}, 404, 40400),
        ({"party_elsewhere": True}, 403, 40301),
        ({"unknown_mediator": True}, 404, 40400),
        ({"unknown_case": True}, 404, 40400),
        ({"two_applicants": True}, 400, 40010),
        ({"parties": "everyone"}, 400, 40000),
        ({"mediators": []}, 400, 40000),
    ],
)
async def test_bad_openings_write_nothing(
    client: Client,
    world: World,
    parties: dict[str, str],
    change: dict[str, Any],
    status: int,
    errcode: int,
) -> None:
    body = opening(world, parties)
    if change.pop("unknown_party", False):
        body["parties"][0]["ref_id"] = str(uuid.uuid4())
    if change.pop("party_elsewhere", False):
        body["parties"][0]["ref_id"] = parties["elsewhere"]
    if change.pop("unknown_mediator", False):
        body["mediators"][0]["staff_id"] = str(uuid.uuid4())
    if change.pop("unknown_case", False):
        body["case_id"] = str(uuid.uuid4())
    if change.pop("two_applicants", False):
        body["parties"][1]["role"] = "applicant"
    body.update(change)

    response = await client.post("/v1/mediations", headers=world.headers["member_a1"], json=body)

    assert (response.status_code, response.json()["errcode"]) == (status, errcode), response.text
    assert not await mediation_exists(client, world, body["mediation_id"])


async def test_a_referral_names_where_it_went(
    client: Client, world: World, parties: dict[str, str]
) -> None:
    member = world.headers["member_a1"]
    body = opening(world, parties)
    assert (await client.post("/v1/mediations", headers=member, json=body)).status_code == 201
    await hold_session(
        client, world, f"/v1/mediations/{body['mediation_id']}", parties["applicant"]
    )
    path = f"/v1/mediations/{body['mediation_id']}/conclude"

    missing = await client.post(path, headers=member, json={"outcome": "referred"})
    referred = await client.post(
        path, headers=member, json={"outcome": "referred", "referred_to": "judicial_office"}
    )

    assert (missing.status_code, missing.json()["errcode"]) == (400, 40010)
    assert referred.status_code == 200, referred.text
    assert referred.json()["referred_to"] == "judicial_office"


async def test_a_mediation_is_not_concluded_before_a_session(
    client: Client, world: World, parties: dict[str, str]
) -> None:
    # given a mediation just opened on member A1's phone
    member = world.headers["member_a1"]
    body = opening(world, parties)
    assert (await client.post("/v1/mediations", headers=member, json=body)).status_code == 201
    path = f"/v1/mediations/{body['mediation_id']}"

    # when it is concluded with no session held
    early = await client.post(f"{path}/conclude", headers=member, json={"outcome": "failed"})

    # then it is refused 409 40933 with what is allowed, and it stays open
    assert (early.status_code, early.json()["errcode"]) == (409, 40933), early.text
    assert early.json()["allowed"] == ["record_session"]
    assert (await client.get(path, headers=member)).json()["state"] == "open"

    # when a session is held, the same conclusion goes through
    await hold_session(client, world, path, parties["respondent_person"])
    ended = await client.post(f"{path}/conclude", headers=member, json={"outcome": "failed"})
    assert (ended.status_code, ended.json()["state"]) == (200, "concluded"), ended.text


@pytest.mark.parametrize(
    ("attendees", "why"),
    [
        (["mediator_a"], "at least one party"),
        (["applicant", "member_b1"], "parties or mediators"),  # staff, but not a mediator
        (["applicant", "respondent"], "parties or mediators"),  # the household of a person party
        (["applicant", "mediator_a", "applicant"], "listed twice"),
        ([], None),  # the body needs at least one
    ],
)
async def test_session_attendees_are_parties_or_staff_mediators_once_each(
    client: Client, world: World, parties: dict[str, str], attendees: list[str], why: str | None
) -> None:
    # given a mediation between a household and a person, with a staff mediator and a 五老
    member = world.headers["member_a1"]
    body = opening(world, parties)
    assert (await client.post("/v1/mediations", headers=member, json=body)).status_code == 201
    path = f"/v1/mediations/{body['mediation_id']}"
    ids = {**parties, **{k: str(v) for k, v in world.staff.items()}}

    # when a session lists someone it may not
    session = {
        "session_id": str(uuid.uuid4()), "held_at": "2026-03-05T14:00:00+08:00",
        "notes": "调解", "attendees": [ids[a] for a in attendees],
    }  # fmt: skip
    refused = await client.post(f"{path}/sessions", headers=member, json=session)

    # then it is refused on the attendees, and no session is recorded
    if why is None:
        assert (refused.status_code, refused.json()["errcode"]) == (400, 40000)
    else:
        assert (refused.status_code, refused.json()["errcode"]) == (400, 40010), refused.text
        assert (refused.json()["field"], why in refused.json()["errmsg"]) == ("attendees", True)
    assert (await client.get(path, headers=member)).json()["sessions"] == []


async def test_a_session_id_resent_with_other_attendees_is_refused(
    client: Client, world: World, parties: dict[str, str]
) -> None:
    # given a session recorded with the applicant
    member = world.headers["member_a1"]
    body = opening(world, parties)
    assert (await client.post("/v1/mediations", headers=member, json=body)).status_code == 201
    path = f"/v1/mediations/{body['mediation_id']}"
    session = await hold_session(client, world, path, parties["applicant"])

    # when the same session id comes again with another attendee list
    other = {**session, "attendees": [parties["respondent_person"]]}
    refused = await client.post(f"{path}/sessions", headers=member, json=other)
    again = await client.post(f"{path}/sessions", headers=member, json=session)

    # then it is refused 409 40911; the first one stands and its re-send is still answered
    assert (refused.status_code, refused.json()["errcode"]) == (409, 40911), refused.text
    assert again.status_code == 200, again.text
    sessions = (await client.get(path, headers=member)).json()["sessions"]
    assert [s["attendees"] for s in sessions] == [[parties["applicant"]]]
