"""One business date (issue 12, item 11): every date the server decides is the date in its
business zone (Asia/Shanghai by default), whatever the hour and whichever door an act came in.

Between 00:00 and 08:00 Beijing the UTC date is still yesterday. HTTP endpoints took today in
UTC while sync took it in whatever zone the phone wrote, so a household registered from a phone
at 00:30 could not be moved over HTTP that morning (400 40010), and the public board dated an
award a day earlier than the points account. Every flow here runs twice, with the server's
clock frozen at 23:30 and at 00:30 Beijing either side of a quarter's end (30 June / 1 July
2026), so "today", "this week" and "this quarter" all change between the two runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from anyio import to_thread

from backend.bootstrap import Container
from backend.clock import FrozenClock
from backend.services.auth import auth_service
from events.household import Household
from events.meta import system_meta
from events.privacy import mask_name
from events.staff import Staff
from tests.integration.test_awards_api import define_rule
from tests.support.households import Json, household_body, person, register, unique_no
from tests.support.world import EPOCH, World

Client = httpx.AsyncClient
SHANGHAI = ZoneInfo("Asia/Shanghai")
FROZEN = {
    "23:30": datetime(2026, 6, 30, 23, 30, tzinfo=SHANGHAI),  # 15:30 UTC, the same date
    "00:30": datetime(2026, 7, 1, 0, 30, tzinfo=SHANGHAI),  # 16:30 UTC on 30 June
}
# A distinct head per run, so each run finds its own commendation on the shared board.
HEADS = {"23:30": "欧阳晓明", "00:30": "司马相如"}


@pytest.fixture(params=list(FROZEN))
def hour(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def clock(container: Container, hour: str) -> Iterator[FrozenClock]:
    """The server's clock stopped at ``hour`` Beijing; the real one is back afterwards."""
    real = container.clock
    frozen = FrozenClock(FROZEN[hour], zone=real.zone)
    container.clock = frozen
    try:
        yield frozen
    finally:
        container.clock = real


@pytest.fixture(scope="module")
async def star_rule(container: Container) -> str:
    """A visit earns a 星级文明户 commendation (the visit is the award's source)."""
    return await define_rule(
        container, "visit_recorded", 5, commendation="star_civilised_household"
    )


def quarter_start(day: date) -> date:
    return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)


async def ok(response: httpx.Response, status: int = 200) -> Json:
    assert response.status_code == status, response.text
    body: Json = response.json()
    return body


async def push(client: Client, world: World, who: str, events: list[Json], at: str) -> Json:
    body = {"protocol": 1, "device_id": f"device-{who}", "device_clock": at, "events": events}
    return await ok(await client.post("/v1/sync/push", headers=world.headers[who], json=body))


async def visit(client: Client, headers: dict[str, str], household_id: str, at: datetime) -> str:
    visit_id = str(uuid.uuid4())
    body = {"visit_id": visit_id, "household_id": household_id, "purpose": "routine",
            "method": "in_person", "visited_at": at.isoformat()}  # fmt: skip
    await ok(await client.post("/v1/visits", headers=headers, json=body), 201)
    return visit_id


async def fresh_member(container: Container, world: World) -> tuple[str, dict[str, str]]:
    """A grid member of B1 of their own, so their figures are exactly this run's work."""
    member = Staff.appoint(
        name=f"日界{uuid.uuid4().hex[:4]}", work_phone="13800000000", role="grid_member",
        scope_unit_id=world.grid_b1, effective_from=EPOCH, meta=system_meta("tests"),
    )  # fmt: skip
    recordings = await to_thread.run_sync(lambda: container.event_log.save(member))
    assert await container.runner.wait_for(recordings[-1].notification.id)
    pair = await auth_service(container).dev_login(member.id, f"device-{member.id}")
    return str(member.id), {"Authorization": f"Bearer {pair.access_token}"}


@pytest.mark.parametrize("written_as", ["+08:00", "Z"])
async def test_a_household_registered_from_a_phone_moves_over_http_the_same_morning(
    client: Client, container: Container, world: World, clock: FrozenClock, written_as: str
) -> None:
    # given a household registered from member A1's phone at the frozen hour, the phone
    # writing its clock in Beijing time or in UTC (the same instant either way)
    at = clock.now().astimezone(SHANGHAI if written_as == "+08:00" else ZoneInfo("UTC"))
    number = unique_no("BD")
    registration = {"event_id": str(uuid.uuid4()), "device_seq": 1, "type": "household.registered",
                    "captured_at": at.isoformat(),
                    "payload": household_body(world.grid_a1, household_no=number)}  # fmt: skip
    pushed = await push(client, world, "member_a1", [registration], at.isoformat())
    assert pushed["results"][0]["status"] == "accepted", pushed
    assert await container.runner.wait_for(pushed["write_checkpoint"])

    # when the village head moves it to grid A2 over HTTP, naming no day
    household_id = str(Household.id_for_number(number))
    moved = await ok(await client.post(
        f"/v1/households/{household_id}/move", headers=world.headers["head_a"],
        json={"grid_id": str(world.grid_a2)},
    ))  # fmt: skip

    # then the move is accepted, and both changes take effect on today's Beijing date
    today = clock.now().astimezone(SHANGHAI).date().isoformat()
    assert [(g["grid_id"], g["effective_from"]) for g in moved["grid_history"]] == [
        (str(world.grid_a1), today),
        (str(world.grid_a2), today),
    ]


async def test_the_board_dates_a_commendation_as_the_points_account_does(
    client: Client, world: World, clock: FrozenClock, hour: str, star_rule: str
) -> None:
    # given a household of A1, visited at the frozen hour and commended for that visit
    head = HEADS[hour]
    body = household_body(world.grid_a1, persons=[person(head, "户主")])
    household_id = (await register(client, world.headers["admin"], body))["id"]
    source = await visit(client, world.headers["member_a1"], household_id, clock.now())
    proposal = await ok(await client.post("/v1/awards", headers=world.headers["member_a1"], json={
        "rule_code": star_rule, "source_event_id": source, "owner_kind": "household",
        "owner_id": household_id, "reason": "主动配合走访"}), 201)  # fmt: skip
    award_id = proposal["id"]
    await ok(await client.post(f"/v1/awards/{award_id}/approve", headers=world.headers["head_a"]))

    # when the supervisor composes village A's board
    draft = await ok(await client.post(
        "/v1/notice-board/editions", headers=world.headers["supervisor"],
        json={"unit_id": str(world.village_a)},
    ), 201)  # fmt: skip

    # then the board dates the commendation on the day the points account booked it: today
    # in Beijing
    account = await ok(await client.get(
        f"/v1/points-accounts/household/{household_id}", headers=world.headers["supervisor"]
    ))  # fmt: skip
    booked = {c["award_id"]: c["day"] for c in account["commendations"]}
    on_board = [c["day"] for c in draft["content"]["commendations"]
                if c["recipient"] == f"{mask_name(head)}家"]  # fmt: skip
    assert on_board == [booked[award_id]] == [clock.today().isoformat()]
    assert draft["period_start"] == clock.today().isoformat()


async def test_a_visit_at_the_frozen_hour_counts_for_that_days_coverage(
    client: Client, container: Container, world: World, clock: FrozenClock
) -> None:
    # given a new member of grid B1 who visits a new household there at the frozen hour
    member_id, member = await fresh_member(container, world)
    body = household_body(world.grid_b1)
    household_id = (await register(client, world.headers["admin"], body))["id"]
    await visit(client, member, household_id, clock.now())
    today = clock.today()

    # when the supervisor opens the member's profile for this quarter, naming no day
    profile = await ok(await client.get(
        f"/v1/members/{member_id}/profile", headers=world.headers["supervisor"],
        params={"period": "quarter"},
    ))  # fmt: skip

    # then it is today's Beijing date, in the Beijing quarter (Q2 at 23:30 on 30 June, Q3 at
    # 00:30 on 1 July), and the visit counts this week, month and quarter
    assert (profile["as_of"], profile["period_start"]) == (
        today.isoformat(),
        quarter_start(today).isoformat(),
    )
    assert profile["visits"] == {"week": 1, "month": 1, "quarter": 1}
    assert profile["households_visited"] == 1

    # and the visit log files it under that Beijing day, not the UTC one
    async def visits_on(day: date) -> int:
        listed = await ok(await client.get("/v1/visits", headers=world.headers["supervisor"],
                                           params={"visitor_id": member_id,
                                                   "date_from": day.isoformat(),
                                                   "date_to": day.isoformat()}))  # fmt: skip
        total: int = listed["total"]
        return total

    assert (await visits_on(today), await visits_on(today - timedelta(days=1))) == (1, 0)


async def test_a_default_effective_date_over_http_is_todays_business_date(
    client: Client, world: World, clock: FrozenClock
) -> None:
    # when an admin registers a household and defines a point rule, naming no day
    created = await register(client, world.headers["admin"], household_body(world.grid_a2))
    rule: Any = await ok(await client.post(
        "/v1/reference/point-rules", headers=world.headers["admin"],
        json={"code": f"bd-{uuid.uuid4().hex[:8]}", "trigger": "visit_recorded",
              "target": "household", "points": 1, "label": "日界测试"},
    ), 201)  # fmt: skip

    # then both take effect on today's Beijing date
    today = clock.today().isoformat()
    assert created["grid_history"][0]["effective_from"] == today
    assert rule["versions"][-1]["effective_from"] == today


@pytest.mark.parametrize("path", ["/v1/visits", "/v1/mediations"])
async def test_a_day_filter_at_the_edge_of_the_calendar_is_an_answer_not_a_500(
    client: Client, world: World, path: str
) -> None:
    # when a supervisor filters by the first and the last day there is
    edges = {"date_from": "0001-01-01", "date_to": "9999-12-31"}
    listed = await client.get(path, headers=world.headers["supervisor"], params=edges)
    # then the answer is a page (the day's bounds in Beijing are still instants in UTC)
    assert listed.status_code == 200, listed.text
    assert listed.json()["total"] >= 0
