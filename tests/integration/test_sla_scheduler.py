"""Stories of the SLA scheduler: the board turns yellow, then red with an escalation one level
up, on the server's clock and the working calendar (National Day 2026, make-up Saturday 10
October) — never twice, never while suspended.

Event times are server times; the stories set them with :class:`Clock` (eventsourcing's clock)
and look at the board and run the scheduler at chosen instants, as the brief's "inject a
clock" asks. The app's own scheduler is kept out by holding its leader lock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from backend.bootstrap import Container
from backend.services.actor import Actor
from backend.services.auth import auth_service
from backend.services.case_queries import BoardQuery, CaseBoardService
from backend.workers.sla_scheduler import SchedulerReport, run_once, tick
from events.holidays import CHINA_TZ
from tests.integration.test_case_api import (  # noqa: F401 (module fixtures)
    Client,
    done,
    reference_data,
    report,
    scheduler_paused,
    to_handling,
)
from tests.support.world import World
from tests.unit.events.test_case import Clock

Json = dict[str, Any]


def at(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=CHINA_TZ)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock().install(monkeypatch)


async def actor(container: Container, world: World, who: str) -> Actor:
    return await auth_service(container).authenticate(world.headers[who]["Authorization"])


class Pass:
    """A scheduler report with case ids as the API spells them."""

    def __init__(self, report: SchedulerReport) -> None:
        self.warned = [str(c) for c in report.warned]
        self.breached = [str(c) for c in report.breached]
        self.escalated = {str(c): u for c, u in report.escalated.items()}


async def scheduled(container: Container, clock: Clock, moment: datetime) -> Pass:
    """A scheduler pass at ``moment``; the events it records carry that server time too."""
    clock.now = moment
    return Pass(await run_once(container, now=moment))


async def row_at(container: Container, viewer: Actor, case_id: str, moment: datetime) -> Json:
    board = CaseBoardService(container, now=lambda: moment)
    _, rows = await board.board(viewer, BoardQuery(), limit=200, offset=0)
    (row,) = [r for r in rows if r["id"] == case_id]
    return row


async def handling_since_national_day_eve(client: Client, world: World, clock: Clock) -> str:
    """A grid case (level 3: 3 working days to handle) signed for on Wed 30 Sep, 10:00."""
    clock.set(2026, 9, 30, 10)
    case_id: str = (await report(client, world.headers["member_a1"]))["id"]
    await to_handling(client, world, case_id)
    return case_id


async def test_the_board_turns_yellow_then_red_across_national_day(
    client: Client, container: Container, world: World, clock: Clock
) -> None:
    # given a case whose handling started the day before the National Day holiday
    cid = await handling_since_national_day_eve(client, world, clock)
    head = await actor(container, world, "head_a")

    # then its 3 working days are 30 Sep, Thu 8, Fri 9 and the make-up Saturday 10 October
    row = await row_at(container, head, cid, at(10, 7, 16))
    assert (row["stage"], row["deadline"], row["colour"]) == (
        "handling",
        at(10, 10, 17, 30),
        "green",
    )

    # when the scheduler runs during the holiday and on Friday evening: nothing is due
    for moment in (at(10, 7, 16), at(10, 9, 17)):
        ran = await scheduled(container, clock, moment)
        assert cid not in ran.warned + ran.breached, moment
        assert (await row_at(container, head, cid, moment))["colour"] == "green"

    # when it runs on the make-up Saturday morning, past 75% of the working time (08:52:30)
    assert (await row_at(container, head, cid, at(10, 10, 8, 52)))["colour"] == "green"
    yellow = await scheduled(container, clock, at(10, 10, 9))
    again = await scheduled(container, clock, at(10, 10, 9))

    # then one warning is recorded, and a second pass adds none
    assert (yellow.warned.count(cid), again.warned.count(cid)) == (1, 0)
    row = await row_at(container, head, cid, at(10, 10, 9))
    assert (row["colour"], row["overdue"], [w["threshold"] for w in row["warnings"]]) == (
        "yellow", False, ["yellow"]
    )  # fmt: skip

    # when it runs at the deadline
    red = await scheduled(container, clock, at(10, 10, 17, 30))
    later = await scheduled(container, clock, at(10, 12, 10))

    # then the breach is recorded and escalated to the village, once
    assert (red.breached.count(cid), red.escalated.get(cid)) == (1, world.village_a)
    assert cid not in [*later.breached, *later.warned, *later.escalated]
    row = await row_at(container, head, cid, at(10, 10, 17, 30))
    assert (row["colour"], row["overdue"], row["escalated"]) == ("red", True, True)
    assert [e["to_unit_id"] for e in row["escalations"]] == [str(world.village_a)]
    # and it is on the village head's overdue and escalated lists
    overdue = CaseBoardService(container, now=lambda: at(10, 12, 10))
    _, rows = await overdue.board(head, BoardQuery(overdue=True), limit=200, offset=0)
    assert cid in [r["id"] for r in rows]
    escalated = await client.get("/v1/case-board/escalated", headers=world.headers["head_a"])
    assert cid in [r["id"] for r in escalated.json()["items"]]
    # and the case's history has each SLA event exactly once, stamped by the server
    history = (await client.get(f"/v1/cases/{cid}", headers=world.headers["head_a"])).json()
    sla = [(h["event"], h["at"], h["role"]) for h in history["history"][-3:]]
    assert sla == [
        ("SlaWarned", "2026-10-10T01:00:00Z", "system"),
        ("SlaBreached", "2026-10-10T09:30:00Z", "system"),
        ("Escalated", "2026-10-10T09:30:00Z", "system"),
    ]


async def test_a_town_case_breaches_without_escalation(
    client: Client, container: Container, world: World, clock: Clock
) -> None:
    # given a case reported at the town (level 1) on 30 Sep at 10:00: 4 working hours to accept
    clock.set(2026, 9, 30, 10)
    cid = (await report(client, world.headers["supervisor"], unit_id=str(world.town)))["id"]

    # when the scheduler runs at 16:00 (4.5 working hours later, lunch excluded)
    ran = await scheduled(container, clock, at(9, 30, 16))

    # then the breach is recorded, with no unit above the town to escalate to
    assert cid in ran.breached
    assert cid not in ran.escalated
    row = await row_at(container, await actor(container, world, "supervisor"), cid, at(9, 30, 16))
    assert (row["colour"], row["escalated"], row["level"]) == ("red", False, 1)


async def test_a_suspended_case_stops_its_clock(
    client: Client, container: Container, world: World, clock: Clock
) -> None:
    # given a case being handled since 30 Sep, suspended on Thu 8 Oct at 09:00
    cid = await handling_since_national_day_eve(client, world, clock)
    clock.set(2026, 10, 8, 9)
    await done(client, world.headers["supervisor"], cid, "suspend", {"reason": "等待司法鉴定"})
    sup = await actor(container, world, "supervisor")

    # when the scheduler runs at the original deadline
    ran = await scheduled(container, clock, at(10, 10, 17, 30))

    # then nothing is emitted and the board shows the case suspended, its deadline moving
    assert cid not in ran.warned + ran.breached
    row = await row_at(container, sup, cid, at(10, 10, 17, 30))
    assert (row["state"], row["suspended"], row["colour"]) == ("suspended", True, "green")

    # when it resumes on Monday 12 Oct at 09:00
    clock.set(2026, 10, 12, 9)
    await done(client, world.headers["supervisor"], cid, "resume")

    # then the deadline moved by the 22.5 working hours it stood still, and it is not due
    row = await row_at(container, sup, cid, at(10, 12, 10))
    assert (row["deadline"], row["colour"]) == (at(10, 14, 17, 30), "green")
    ran = await scheduled(container, clock, at(10, 12, 10))
    assert cid not in ran.warned + ran.breached


async def test_only_the_lock_holder_runs_a_pass(container: Container) -> None:
    # given this module holds the scheduler's leader lock (as another process would)
    # when this process's scheduler ticks, then it stands aside
    assert await tick(container, now=at(10, 10, 17, 30)) is None
