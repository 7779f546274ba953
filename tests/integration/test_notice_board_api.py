"""The notice board (公示栏) over HTTP on the real services: editions are composed, reviewed
by a second person, published frozen after the privacy gate, withdrawn with a reason; the
public JSON never carries what privacy rule 5 protects, whatever the households hold."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import date
from typing import Any

import httpx
import msgspec
import pytest
from anyio import to_thread
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.bootstrap import Container
from events.notice_board import BoardContent
from tests.integration.test_awards_api import define_rule, visit_to
from tests.support.households import Json, register
from tests.support.notice_board import (
    publish_edition,
    secrets_of,
    sensitive_households,
    try_publish,
)
from tests.support.world import World

Client = httpx.AsyncClient
EDITIONS = "/v1/notice-board/editions"


@pytest.fixture(scope="module")
async def star_rule(container: Container) -> str:
    return await define_rule(
        container, "manual_commendation", 5, commendation="star_civilised_household"
    )


async def commend(client: Client, world: World, rule: str, household_id: str) -> None:
    """The grid head visits and proposes a 星级文明户 commendation; the supervisor approves it."""
    head = world.headers["head_a"]
    proposal = await client.post(
        "/v1/awards",
        headers=head,
        json={"rule_code": rule, "source_event_id": await visit_to(client, head, household_id),
              "owner_kind": "household", "owner_id": household_id, "reason": "邻里和睦，热心公益"},
    )  # fmt: skip
    assert proposal.status_code == 201, proposal.text
    approved = await client.post(
        f"/v1/awards/{proposal.json()['id']}/approve", headers=world.headers["supervisor"]
    )
    assert approved.status_code == 200, approved.text


async def public(client: Client, unit_id: Any) -> Json:
    response = await client.get(f"/v1/public/notice-board/{unit_id}")
    assert response.status_code == 200, response.text
    board: Json = response.json()
    return board


async def test_an_edition_is_reviewed_by_another_person_published_frozen_and_withdrawn(
    client: Client, world: World, star_rule: str
) -> None:
    # given a household in grid A1 with a commendation
    created = await register(
        client,
        world.headers["admin"],
        {"household_no": f"NB-{uuid.uuid4().hex[:10]}", "grid_id": str(world.grid_a1),
         "address": "甲村 9 组 3 号", "persons": [{"name": "欧阳晓明", "relation": "户主",
                                                  "gender": "male"}]},
    )  # fmt: skip
    await commend(client, world, star_rule, created["id"])

    # when the supervisor composes a draft for village A
    composed = await client.post(
        EDITIONS, headers=world.headers["supervisor"], json={"unit_id": str(world.village_a)}
    )
    assert composed.status_code == 201, composed.text
    draft = composed.json()
    edition_id = draft["id"]

    # then it shows grid A1 with its member's work phone, the masked household, no findings
    content = draft["content"]
    grid = next(g for g in content["grids"] if g["code"] == world.codes["grid_a1"])
    assert grid["households"] >= 1
    assert {"name": "测试member_a1", "role": "grid_member", "work_phone": "13800000000"} in grid[
        "contacts"
    ]
    assert {
        "recipient": "欧阳*明家",
        "recipient_kind": "household",
        "title": "星级文明户",
    }.items() <= (
        next(c for c in content["commendations"] if c["recipient"] == "欧阳*明家").items()
    )
    assert draft["state"] == "draft"
    assert draft["privacy_findings"] == []
    assert draft["period_end"] > draft["period_start"]
    assert content["cases"]["total"] >= 0

    # when the composer approves it themselves, then that is refused
    own = await client.post(f"{EDITIONS}/{edition_id}/approve", headers=world.headers["supervisor"])
    assert (own.status_code, own.json()["errcode"]) == (403, 40380), own.text
    # and publishing before review is not allowed
    early = await client.post(
        f"{EDITIONS}/{edition_id}/publish", headers=world.headers["supervisor"]
    )
    assert (early.status_code, early.json()["errcode"]) == (409, 40910), early.text

    # when the admin approves and the supervisor publishes (each twice: retries are no-ops)
    for _ in range(2):
        approved = await client.post(
            f"{EDITIONS}/{edition_id}/approve", headers=world.headers["admin"]
        )
        assert (approved.status_code, approved.json()["state"]) == (200, "approved"), approved.text
    for _ in range(2):
        published = await client.post(
            f"{EDITIONS}/{edition_id}/publish", headers=world.headers["supervisor"]
        )
        assert published.status_code == 200, published.text
    frozen = published.json()
    assert frozen["state"] == "published"
    assert frozen["version"] == 3

    # then the public sees it as current, with the hash of exactly its content
    board = await public(client, world.village_a)
    current = next(e for e in board["current"] if e["id"] == edition_id)
    typed = msgspec.convert(current["content"], BoardContent)
    assert hashlib.sha256(msgspec.json.encode(typed)).hexdigest() == current["content_sha256"]
    assert current["content_sha256"] == frozen["content_sha256"]

    # when it is withdrawn with a reason
    withdrawn = await client.post(
        f"{EDITIONS}/{edition_id}/withdraw",
        headers=world.headers["admin"],
        json={"reason": "统计口径有误"},
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["state"] == "withdrawn"

    # then it is listed as withdrawn, without content or reason, and no longer current
    board = await public(client, world.village_a)
    listed = next(e for e in board["editions"] if e["id"] == edition_id)
    assert listed["status"] == "withdrawn"
    assert listed["content"] is None
    assert "统计口径有误" not in str(board)
    assert edition_id not in {e["id"] for e in board["current"]}


async def test_a_household_headed_by_a_minor_is_not_named(
    client: Client, world: World, star_rule: str
) -> None:
    # given a commended household whose head is 16 (a child-headed household)
    birth = date.today().replace(year=date.today().year - 16, day=1)
    created = await register(
        client,
        world.headers["admin"],
        {"household_no": f"NB-{uuid.uuid4().hex[:10]}", "grid_id": str(world.grid_a2),
         "address": "甲村 2 组 8 号", "persons": [{"name": "赵小明", "relation": "户主",
         "gender": "male", "birth_date": birth.isoformat()}]},
    )  # fmt: skip
    await commend(client, world, star_rule, created["id"])

    # when the village's board is composed
    composed = await client.post(
        EDITIONS, headers=world.headers["supervisor"], json={"unit_id": str(world.village_a)}
    )
    assert composed.status_code == 201, composed.text

    # then the commendation names 某户, and neither the name nor its mask appears
    content = composed.json()["content"]
    grid_a2 = [c for c in content["commendations"] if c["grid_name"] == "甲村第二网格"]
    assert [c["recipient"] for c in grid_a2] == ["某户"]
    assert "赵小明" not in composed.text
    assert "赵*明" not in composed.text


async def test_bad_input_is_refused_and_changes_nothing(client: Client, world: World) -> None:
    # a grid member may not compose; a grid is not a board unit; a period may not be reversed
    member = await client.post(
        EDITIONS, headers=world.headers["member_a1"], json={"unit_id": str(world.grid_a1)}
    )
    assert member.status_code == 403, member.text
    grid = await client.post(
        EDITIONS, headers=world.headers["supervisor"], json={"unit_id": str(world.grid_a1)}
    )
    assert (grid.status_code, grid.json()["errcode"]) == (400, 40010), grid.text
    reversed_period = await client.post(
        EDITIONS,
        headers=world.headers["supervisor"],
        json={"unit_id": str(world.village_a), "period_start": "2026-12-10",
              "period_end": "2026-12-01"},
    )  # fmt: skip
    assert reversed_period.json()["errcode"] in (40080,), reversed_period.text
    far = await client.post(
        EDITIONS,
        headers=world.headers["supervisor"],
        json={"unit_id": str(world.village_a), "period_start": "9999-12-31"},
    )
    assert (far.status_code, far.json()["errcode"]) == (400, 40080), far.text
    # an unknown unit on the public side is 404, a malformed id too
    missing = await client.get(f"/v1/public/notice-board/{uuid.uuid4()}")
    assert (missing.status_code, missing.json()["errcode"]) == (404, 40400)
    page = await client.get(f"/public/notice-board/{uuid.uuid4()}")
    assert page.status_code == 404


async def test_a_retried_compose_returns_the_same_draft(client: Client, world: World) -> None:
    body = {"unit_id": str(world.village_a), "edition_id": str(uuid.uuid4())}
    first = await client.post(EDITIONS, headers=world.headers["supervisor"], json=body)
    again = await client.post(EDITIONS, headers=world.headers["supervisor"], json=body)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["duplicate"] is True
    assert again.json()["id"] == first.json()["id"]
    other = await client.post(EDITIONS, headers=world.headers["admin"], json=body)
    assert (other.status_code, other.json()["errcode"]) == (409, 40911), other.text


_SETTINGS = settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def test_public_board_never_carries_protected_fields(
    client: Client, world: World, star_rule: str
) -> None:
    loop = asyncio.get_running_loop()

    async def scenario(bodies: list[Json], leak_index: int) -> None:
        # given households full of sensitive data, each commended
        for body in bodies:
            created = await register(client, world.headers["admin"], body)
            await commend(client, world, star_rule, created["id"])
        secrets = secrets_of(bodies)
        # when an edition carries one of them in its notes, then publishing is refused
        candidates = [s for s in secrets if not s.endswith("*")]
        leak = candidates[leak_index % len(candidates)]
        approved, refused = await try_publish(
            client, world.headers, world.village_a, notes=[f"请联系 {leak}"]
        )
        assert (refused.status_code, refused.json()["errcode"]) == (422, 42280), refused.text
        assert refused.json()["findings"]
        assert leak not in refused.text
        after = await client.get(
            f"{EDITIONS}/{approved['id']}", headers=world.headers["supervisor"]
        )
        assert (after.json()["state"], after.json()["version"]) == ("approved", 2)
        # when a clean edition is published
        await publish_edition(client, world.headers, world.village_a)
        # then neither the JSON nor the page contains any protected value
        board = await client.get(f"/v1/public/notice-board/{world.village_a}")
        page = await client.get(f"/public/notice-board/{world.village_a}")
        for text in (board.text, page.text):
            assert [s for s in secrets if s in text] == []
        assert any(c["recipient_kind"] == "household" for e in board.json()["current"]
                   for c in e["content"]["commendations"])  # fmt: skip

    @_SETTINGS
    @given(bodies=sensitive_households(world.grid_a1), leak_index=st.integers(0, 1000))
    def check(bodies: list[Json], leak_index: int) -> None:
        asyncio.run_coroutine_threadsafe(scenario(bodies, leak_index), loop).result(timeout=120)

    await to_thread.run_sync(check)
