"""The case board projection: its SLA clock is the aggregate's, photos turn from pending to
uploaded, and the filters narrow what a caller sees in their scope."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from backend.bootstrap import Container
from backend.services.commands import CommandRunner
from events.case import Case
from projections import case_board
from projections.case_board_fold import sla_clock_of
from tests.integration.test_case_api import (  # noqa: F401 (module fixtures)
    Client,
    act,
    board_row,
    done,
    reference_data,
    report,
    scheduler_paused,
)
from tests.integration.test_scope_matrix import _png
from tests.support.world import World

Json = dict[str, Any]

STEPS: list[tuple[str, str, Json]] = [
    ("supervisor", "accept", {}),
    ("supervisor", "register", {}),
    ("supervisor", "dispatch", {"staff_id": "MEMBER"}),
    ("member_a1", "return", {"reason": "不在本网格"}),
    ("supervisor", "dispatch", {"unit_id": "GRID"}),
    ("member_a1", "sign-for", {}),
    ("member_a1", "request-delay", {"days": 3, "reason": "等待配件"}),
    ("supervisor", "decide-delay", {"approve": True}),
    ("supervisor", "suspend", {"reason": "等待鉴定"}),
    ("supervisor", "resume", {}),
    ("supervisor", "supervise", {"instruction": "请加快"}),
    ("member_a1", "report-up", {"reason": "需村里协调"}),
]


async def test_the_boards_sla_clock_is_the_aggregates_after_every_step(
    client: Client, container: Container, world: World
) -> None:
    # given a reported case
    cid = (await report(client, world.headers["member_a1"]))["id"]
    values = {"MEMBER": str(world.staff["member_a1"]), "GRID": str(world.grid_a1)}
    commands = CommandRunner(container)

    for who, action, body in STEPS:
        # when the case takes a step
        body = {k: values.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
        await done(client, world.headers[who], cid, action, body)

        # then the board's fold gives the same SLA clock as the aggregate itself
        case = await commands.load(Case, UUID(cid), what="case")
        doc = await case_board.get_case_row(container.pool, UUID(cid))
        assert doc is not None
        assert sla_clock_of(doc) == case.sla_clock(), action
        assert (doc["holder_unit_id"], doc["version"]) == (str(case.holder_unit_id), case.version)
    # and the fold followed the case up to the village with its history
    assert doc["level"] == 2
    assert doc["supervisions"] == 1
    history = await case_board.case_history(container.pool, UUID(cid))
    assert len(history) == len(STEPS) + 1


async def test_a_photo_is_pending_until_it_is_uploaded(client: Client, world: World) -> None:
    # given a case whose photo is still on the phone
    member, sup = world.headers["member_a1"], world.headers["supervisor"]
    photo = _png()
    sha = hashlib.sha256(photo).hexdigest()
    cid = (await report(client, member, photos=[sha]))["id"]
    assert (await board_row(client, sup, cid))["photos"] == [
        {"sha256": sha, "kind": "report", "pending": True}
    ]

    # when the photo lands
    uploaded = await client.post(
        "/v1/media",
        headers=member,
        files={"file": ("p.png", photo, "image/png")},
        data={"sha256": sha},
    )
    assert uploaded.status_code == 201, uploaded.text

    # then the board shows it without the pending flag
    row = await board_row(client, sup, cid)
    assert (row["photos"][0]["pending"], row["photos_pending"]) == (False, False)


async def test_filters_narrow_the_board(client: Client, world: World) -> None:
    # given a dispatched case in grid A1 and one reported in grid A2
    head = world.headers["head_a"]
    dispatched = (await report(client, world.headers["member_a1"]))["id"]
    await done(client, head, dispatched, "accept")
    await done(client, head, dispatched, "register")
    member_a1 = str(world.staff["member_a1"])
    await done(client, head, dispatched, "dispatch", {"staff_id": member_a1})
    other = (await report(client, head, unit_id=str(world.grid_a2)))["id"]

    async def ids(**params: Any) -> list[str]:
        page = await client.get("/v1/case-board", headers=head, params={"limit": 200, **params})
        assert page.status_code == 200, page.text
        return [r["id"] for r in page.json()["items"]]

    # when the board is filtered by handler, state, level, date range, overdue and escalation
    by_holder = await ids(holder=member_a1)
    by_state = await ids(state="dispatched")
    now = datetime.now(UTC)
    recent = await ids(reported_from=(now - timedelta(hours=1)).isoformat(), level=3)
    future = await ids(reported_from=(now + timedelta(days=1)).isoformat())
    on_time = await ids(overdue="false", escalated="false")

    # then each answer holds what it should
    assert dispatched in by_holder
    assert other not in by_holder
    assert dispatched in by_state
    assert other not in by_state
    assert {dispatched, other} <= set(recent)
    assert future == []
    assert {dispatched, other} <= set(on_time)
    # and a handler outside the caller's scope cannot be used to probe their cases
    outside = await client.get(
        "/v1/case-board", headers=head, params={"holder": str(world.staff["member_b1"])}
    )
    assert (outside.status_code, outside.json()["errcode"]) == (403, 40301)


async def test_text_postgresql_cannot_store_does_not_stall_the_board(
    client: Client, world: World
) -> None:
    # given a case
    sup = world.headers["supervisor"]
    cid = (await report(client, world.headers["member_a1"]))["id"]

    # when someone sends a NUL in a comment, it is refused at the door (PostgreSQL cannot
    # store it), and an odd device time is accepted but not trusted
    refused = await act(client, sup, cid, "accept", {"comment": "属实\x00"})
    body = {"comment": "属实", "client_time": "0001-01-01T00:00:00+23:59"}
    accepted = await done(client, sup, cid, "accept", body)

    # then the board and the history still follow the case
    assert (refused.status_code, refused.json()["errcode"]) == (400, 40000)
    assert (await board_row(client, sup, cid))["version"] == accepted["version"] == 2
    assert accepted["history"][-1]["detail"]["comment"] == "属实"
    assert accepted["history"][-1]["client_time"] is None
