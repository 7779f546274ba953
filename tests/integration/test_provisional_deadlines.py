"""Stories of a year without holiday data: inside the SLA horizon, /health warns; a deadline
counted over such a year is marked provisional on the case and on the case board, and the
notice board's on-time figure names the years it counted Monday–Friday; once an admin enters
a year's arrangement, its deadlines are firm.

The built-in data ends with 2026 (events/holidays.py), so 2027 is the year without data here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import pytest

from backend.bootstrap import Container
from backend.services import reference
from backend.services.notice_board import compose_content
from backend.services.reference import holiday_data_gaps
from events.holidays import CHINA_TZ
from tests.integration.test_case_api import Client, board_row, report
from tests.support.world import World

BASE = "/v1/reference"
# A working year to accept a case: the horizon then reaches past every year with data.
YEAR_LONG = [{"level": level, "stage": "acceptance", "limit_days": 365} for level in (1, 2, 3, 4)]


async def set_rules(client: Client, world: World, rules: list[dict[str, Any]]) -> None:
    answer = await client.post(f"{BASE}/sla-rules", headers=world.headers["admin"],
                               json={"rules": rules})  # fmt: skip
    assert answer.status_code == 200, answer.text


async def enter_year(client: Client, world: World, year: int, holidays: list[str]) -> None:
    body = {"holidays": holidays, "makeup_days": []}
    answer = await client.post(f"{BASE}/calendar/{year}", headers=world.headers["admin"], json=body)
    assert answer.status_code == 200, answer.text


async def reset(client: Client, world: World) -> None:
    """The default policy and no override for the years a year-long limit reaches."""
    await set_rules(client, world, [])
    this_year = datetime.now(CHINA_TZ).year
    for year in {2027, *range(this_year, this_year + 3)}:
        cleared = await client.post(f"{BASE}/calendar/{year}/clear", headers=world.headers["admin"])
        assert cleared.status_code == 200, cleared.text


@pytest.fixture(autouse=True)
async def restored(client: Client, world: World, container: Container) -> AsyncIterator[None]:
    # Before too: an earlier module (the contract fuzzer, as an admin) may have changed them.
    await reference.ensure_default_categories(container)
    await reset(client, world)
    yield
    await reset(client, world)


async def test_given_a_year_without_data_in_the_horizon_then_health_warns(
    client: Client, world: World, container: Container
) -> None:
    # given a horizon that reaches past the built-in data
    await set_rules(client, world, YEAR_LONG)
    before = await holiday_data_gaps(container)
    # when the health check is asked
    response = await client.get("/health")
    after = await holiday_data_gaps(container)
    # then it still answers 200, names each such year and says what to do about it
    assert response.status_code == 200, response.text
    body = response.json()
    assert before
    assert body["holiday_data_missing"] in (before, after)  # the horizon moves at midnight only
    for year in body["holiday_data_missing"]:
        assert any(f"/v1/reference/calendar/{year}" in w for w in body["warnings"]), year


async def test_the_default_horizon_reaches_2027_in_december_2026_and_not_before(
    client: Client, world: World, container: Container
) -> None:
    # given the default policy (10 working days at most, plus a delay of up to 30)
    december, september = (datetime(2026, m, d, 9, tzinfo=CHINA_TZ) for m, d in ((12, 7), (9, 1)))
    # then early December's horizon lacks 2027, early September's lacks nothing
    assert await holiday_data_gaps(container, now=december) == [2027]
    assert await holiday_data_gaps(container, now=september) == []
    # and once an admin enters 2027, December's lacks nothing either
    await enter_year(client, world, 2027, ["2027-01-01"])
    assert await holiday_data_gaps(container, now=december) == []


async def test_a_deadline_counted_over_a_year_without_data_is_provisional_until_entered(
    client: Client, world: World, container: Container
) -> None:
    # given an acceptance limit of a working year, and a case reported now
    await set_rules(client, world, YEAR_LONG)
    supervisor = world.headers["supervisor"]
    case_id = (await report(client, world.headers["member_a1"]))["id"]
    case = (await client.get(f"/v1/cases/{case_id}", headers=supervisor)).json()
    # then its deadline is provisional, on the case and on the board
    assert case["deadline_provisional"] is True, case
    assert (await board_row(client, supervisor, case_id))["deadline_provisional"] is True
    # when an admin enters every year the stage's clock runs through
    first, last = (datetime.fromisoformat(case[k]) for k in ("stage_entered_at", "deadline"))
    calendar = await reference.working_calendar(container)
    years = calendar.uncovered_years(*(d.astimezone(CHINA_TZ).date() for d in (first, last)))
    assert years
    for year in years:
        await enter_year(client, world, year, [])
    # then the same deadline is firm
    again = (await client.get(f"/v1/cases/{case_id}", headers=supervisor)).json()
    assert (again["deadline"], again["deadline_provisional"]) == (case["deadline"], False)
    assert (await board_row(client, supervisor, case_id))["deadline_provisional"] is False


async def test_the_boards_on_time_figure_names_the_years_it_counted_without_data(
    client: Client, world: World, container: Container
) -> None:
    unit = await container.pool.fetchrow("SELECT * FROM grid_units WHERE id = $1", world.town)
    # given a board composed in January 2027, its 90-day window reaching back into 2026
    january = await compose_content(container, unit, notes=(), today=date(2027, 1, 15))
    december = await compose_content(container, unit, notes=(), today=date(2026, 12, 7))
    # then its case figures name 2027 as counted Monday–Friday; December 2026's name nothing
    assert january.cases.holiday_data_missing == (2027,)
    assert december.cases.holiday_data_missing == ()
    # and with 2027 entered, January's name nothing either
    await enter_year(client, world, 2027, ["2027-01-01"])
    entered = await compose_content(container, unit, notes=(), today=date(2027, 1, 15))
    assert entered.cases.holiday_data_missing == ()
