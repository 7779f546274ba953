"""Filing a :class:`ResourceSet` through the API, as the grid's own member and managers would."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from backend.bootstrap import Container
from backend.services.auth import auth_service
from backend.services.reference import ensure_default_categories
from backend.workers.sla_scheduler import run_once
from tests.support.households import household_body, person, register, unique_no
from tests.support.scope_matrix.sets import SPARE_DEVICE, Place, ResourceSet, Words, png
from tests.support.scope_matrix.table import sync_push_body
from tests.support.world import World
from tests.unit.events.test_case import Clock

__all__ = ["build_set"]

Client = httpx.AsyncClient


async def build_set(
    client: Client, container: Container, world: World, words: Words, *, label: str, place: Place
) -> ResourceSet:
    """A household with a recorded conflict, a photo, field work, a case, a held push and a
    draft board edition, all in ``place.grid`` of ``world``; plus spares for ending calls."""
    member = world.headers[place.member]
    number = unique_no(f"{label}SECRET")
    household = await _household(client, world, words, number=number, place=place)
    photo = png(label)
    sha256 = hashlib.sha256(photo).hexdigest()
    files = {"file": (f"{label}.png", photo, "image/png")}
    uploaded = await client.post("/v1/media", headers=member, files=files, data={"sha256": sha256})
    assert uploaded.status_code == 201, uploaded.text
    hid = household["household"]["id"]
    field_work = await _field_work(client, world, hid, words, place=place)
    held_event_id = await _held_push(client, world, words, place=place)
    persons = {p["relation"]: p["person_id"] for p in household["household"]["persons"]}
    secrets = [number, *words.secrets(), world.codes[place.grid]]
    if place.names_are_secret:
        unit = await client.get(f"/v1/grid-units/{getattr(world, place.grid)}", headers=member)
        assert unit.status_code == 200, unit.text
        secrets += [unit.json()["name"], f"测试{place.member}"]
    return ResourceSet(
        label=label,
        unit_id=str(getattr(world, place.grid)),
        grid_code=world.codes[place.grid],
        village_id=str(getattr(world, place.village)),
        elsewhere_grid_id=str(getattr(world, place.elsewhere_grid)),
        elsewhere_village_id=str(getattr(world, place.elsewhere_village)),
        nearby_grid_id=str(getattr(world, place.nearby_grid)),
        staff_id=str(world.staff[place.member]),
        device_id=f"device-{place.member}",
        household_id=hid,
        household_version=household["household"]["version"],
        head_id=persons["户主"],
        spouse_id=persons["配偶"],
        conflict_id=household["conflict_ids"][0],
        secrets=secrets,
        head_name=words.head,
        photo=photo,
        sha256=sha256,
        **field_work,
        case_id=await _case(client, container, world, words, place=place),
        edition_id=await _edition(client, world, words, place=place),
        held_event_id=held_event_id,
        scheme=await _scheme(client, world),
        spares={
            **await _spares(client, container, world, place=place),
            **await _spare_awards(client, world, hid, field_work["rule_code"], place=place),
        },
    )


async def _household(
    client: Client, world: World, words: Words, *, number: str, place: Place
) -> dict[str, Any]:
    """The household, then the same field changed twice from base 1: a recorded conflict."""
    body = household_body(
        getattr(world, place.grid),
        household_no=number,
        address=f"{words.street}7号",
        phone=words.phone,
        persons=[
            person(words.head, "户主", phone=words.head_phone),
            person(words.spouse, "配偶", gender="female", tags=["party_member", "tekun"]),
        ],
    )
    hid = (await register(client, world.headers[place.member], body))["id"]
    for value, who in (("砖混", place.member), ("木结构", place.decider)):
        change = {"base_version": 1, "changes": [{"path": "house_type", "value": value}]}
        response = await client.post(
            f"/v1/households/{hid}/updates", headers=world.headers[who], json=change
        )
        assert response.status_code == 200, response.text
    after: dict[str, Any] = response.json()
    assert len(after["conflict_ids"]) == 1, after
    return after


async def _held_push(client: Client, world: World, words: Words, *, place: Place) -> str:
    """The member's phone pushes a visit to a household not registered yet: held (deferred)
    in the grid's scope, with its words in the notes; the phone shows in device status."""
    body = sync_push_body(f"device-{place.member}", str(uuid.uuid4()), notes=f"{words.head}待登记")
    headers = world.headers[place.member]
    pushed = await client.post("/v1/sync/push", headers=headers, json=body)
    assert pushed.json()["results"][0]["status"] == "deferred", pushed.text
    event_id: str = body["events"][0]["event_id"]
    return event_id


async def _edition(client: Client, world: World, words: Words, *, place: Place) -> str:
    """The supervisor composes a draft board of the village: it lists the grid and member."""
    body = {"unit_id": str(getattr(world, place.village)), "notes": [f"{words.street}本期公示"]}
    composed = await client.post(
        "/v1/notice-board/editions", headers=world.headers["supervisor"], json=body
    )
    assert composed.status_code == 201, composed.text
    edition_id: str = composed.json()["id"]
    if place.member_alone:  # published, so the member finds the village's public board
        for step, who in (("approve", "admin"), ("publish", "supervisor")):
            url = f"/v1/notice-board/editions/{edition_id}/{step}"
            done = await client.post(url, headers=world.headers[who])
            assert done.status_code == 200, done.text
    return edition_id


async def _scheme(client: Client, world: World) -> str:
    """A scheme of the set's own, in force since the start of the year."""
    code = f"m-{uuid.uuid4().hex[:10]}"
    body = {"code": code, "label": "矩阵考核办法", "effective_from": "2026-01-01",
            "indicators": [{"indicator": "visits", "weight": 100, "full_at": 4}]}  # fmt: skip
    headers = world.headers["admin"]
    defined = await client.post("/v1/assessments/schemes", headers=headers, json=body)
    assert defined.status_code == 201, defined.text
    return code


async def _case(
    client: Client, container: Container, world: World, words: Words, *, place: Place
) -> str:
    """The member reports a case on a March morning; by today's clock it is overdue, and the
    scheduler escalates it (so the overdue and escalated lists show it) as far as it goes."""
    await ensure_default_categories(container)
    case = {
        "id": str(uuid.uuid4()), "category": "hazard", "title": f"{words.street}电线老化",
        "description": f"{words.head}门前电线老化", "location": f"{words.street}7号",
    }  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        Clock().install(patch)  # the event's server time: Monday 2 March 2026, 08:30
        headers = world.headers[place.member]
        reported = await client.post("/v1/cases", headers=headers, json=case)
    assert reported.status_code == 201, reported.text
    for _ in range(4):  # up to the town, so no later scheduler tick moves it during the test
        report = await run_once(container, now=datetime.now(UTC))
        if uuid.UUID(case["id"]) not in report.escalated:
            break
    return case["id"]


async def _field_work(
    client: Client, world: World, hid: str, words: Words, *, place: Place
) -> dict[str, str]:
    """The member visits the household and opens a mediation; the decider approves an award,
    and the member redeems a point of it."""
    member, decider = world.headers[place.member], world.headers[place.decider]
    code = f"m-{unique_no('r').lower()}"
    rule = {"code": code, "trigger": "visit_recorded", "target": "household", "points": 5}
    rule |= {"label": "走访积分", "effective_from": "2020-01-01"}
    defined = await client.post(
        "/v1/reference/point-rules", headers=world.headers["admin"], json=rule
    )
    assert defined.status_code == 201, defined.text
    visit_id = await _created(client, member, "/v1/visits", _visit(hid, words))
    household = (await client.get(f"/v1/households/{hid}", headers=member)).json()
    (spouse,) = [p["person_id"] for p in household["persons"] if p["relation"] == "配偶"]
    mediation = {
        "mediation_id": str(uuid.uuid4()),
        "parties": [
            {"kind": "household", "ref_id": hid, "role": "applicant"},
            {"kind": "person", "ref_id": spouse, "role": "respondent"},
        ],
        "mediators": [{"name": f"{words.head}的邻居", "kind": "wulao"}],
    }
    await _created(client, member, "/v1/mediations", mediation)
    proposal = {"rule_code": code, "source_event_id": visit_id, "owner_kind": "household",
                "owner_id": hid, "reason": f"{words.head}配合走访"}  # fmt: skip
    award = await client.post("/v1/awards", headers=member, json=proposal)
    assert award.status_code == 201, award.text
    approved = await client.post(f"/v1/awards/{award.json()['id']}/approve", headers=decider)
    assert approved.status_code == 200, approved.text
    soap = {"sku": "soap", "name": "肥皂", "unit_points": 1, "quantity": 1}
    redemption = {"redemption_id": str(uuid.uuid4()), "items": [soap]}
    await _created(client, member, f"/v1/points-accounts/household/{hid}/redemptions", redemption)
    return {
        "visit_id": visit_id,
        "mediation_id": mediation["mediation_id"],
        "award_id": award.json()["id"],
        "redemption_id": redemption["redemption_id"],
        "rule_code": code,
    }


def _visit(hid: str, words: Words) -> dict[str, Any]:
    return {
        "visit_id": str(uuid.uuid4()),
        "household_id": hid,
        "purpose": "routine",
        "method": "in_person",
        "visited_at": "2026-03-01T09:00:00+08:00",
        "findings": {"notes": f"{words.head}家水管漏水"},
    }


async def _created(client: Client, headers: dict[str, str], url: str, body: Any) -> str:
    response = await client.post(url, headers=headers, json=body)
    assert response.status_code == 201, response.text
    for key in ("visit_id", "mediation_id", "redemption_id", "id"):
        if key in body:
            return str(body[key])
    raise AssertionError(f"no id in {body}")


async def _spares(
    client: Client, container: Container, world: World, *, place: Place
) -> dict[str, str]:
    """Spares for the in-scope calls that end things: a grid, a member with a phone, and
    households to move, dissolve and remove a lodger from."""
    admin, member = world.headers["admin"], world.headers[place.member]
    village = getattr(world, place.village)
    unit = {"code": world.codes[place.village] + f"{uuid.uuid4().int % 900 + 100}",
            "name": "备用网格", "level": 3, "parent_id": str(village)}  # fmt: skip
    grid = await client.post("/v1/grid-units", headers=admin, json=unit)
    assert grid.status_code == 201, grid.text
    appointee = {"name": "备用网格员", "work_phone": "13900000000", "role": "grid_member",
                 "scope_unit_id": str(getattr(world, place.grid))}  # fmt: skip
    staff = await client.post("/v1/staff", headers=admin, json=appointee)
    assert staff.status_code == 201, staff.text
    await auth_service(container).dev_login(uuid.UUID(staff.json()["id"]), SPARE_DEVICE)
    spares = {"unit": grid.json()["id"], "staff": staff.json()["id"]}
    spares["case"] = await _spare_case(client, world, place=place, dispatched=place.member_alone)
    spares["case_reject"] = await _spare_case(client, world, place=place, dispatched=False)
    spares["case_return"] = await _spare_case(client, world, place=place, dispatched=True)
    for purpose in ("move", "dissolve", "remove"):
        people = [person("备用户主", "户主"), person("备用租客", "其他")]
        body = household_body(getattr(world, place.grid), persons=people)
        created = await register(client, member, body)
        spares[purpose] = created["id"]
        if purpose == "remove":
            (lodger,) = [p for p in created["persons"] if p["relation"] == "其他"]
            spares["lodger"] = lodger["person_id"]
    return spares


async def _spare_awards(
    client: Client, world: World, hid: str, rule_code: str, *, place: Place
) -> dict[str, str]:
    """Two awards the member proposes for the household (each for a visit of its own),
    awaiting a decision."""
    found, member = {}, world.headers[place.member]
    for purpose in ("award_approve", "award_reject"):
        visit = {"visit_id": str(uuid.uuid4()), "household_id": hid, "purpose": "routine",
                 "method": "in_person", "visited_at": "2026-03-01T09:00:00+08:00"}  # fmt: skip
        source = await _created(client, member, "/v1/visits", visit)
        proposal = {"rule_code": rule_code, "source_event_id": source,
                    "owner_kind": "household", "owner_id": hid, "reason": "备用积分"}  # fmt: skip
        award = await client.post("/v1/awards", headers=member, json=proposal)
        assert award.status_code == 201, award.text
        found[purpose] = award.json()["id"]
    return found


async def _spare_case(client: Client, world: World, *, place: Place, dispatched: bool) -> str:
    """A fresh case the member reports (in the grid, not overdue) for the in-scope lifecycle;
    ``dispatched`` to the member by the decider for the member's own steps."""
    case_id = str(uuid.uuid4())
    case = {"id": case_id, "category": "hazard", "title": "备用事件", "description": "备用",
            "location": "备用"}  # fmt: skip
    await _created(client, world.headers[place.member], "/v1/cases", case)
    if dispatched:
        steps = [("accept", {}), ("register", {}),
                 ("dispatch", {"staff_id": str(world.staff[place.member])})]  # fmt: skip
        for step, body in steps:
            url = f"/v1/cases/{case_id}/{step}"
            done = await client.post(url, headers=world.headers[place.decider], json=body)
            assert done.status_code == 200, done.text
    return case_id
