"""Reference data on the real services: admins manage categories, point rules, SLA rules and the
holiday calendar; every staff member reads them; other services read them through
``backend.services.reference``.

The SLA rule set and the calendar overrides are system-wide, so every test here leaves them as
it found them (the default policy, no override), whatever it asserts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest

from backend.bootstrap import Container
from backend.services import reference
from events import CHINA_TZ, DEFAULT_POLICY, SlaRule
from tests.support.world import World

Client = httpx.AsyncClient
Json = dict[str, Any]
BASE = "/v1/reference"
TOUCHED_YEARS = (2026, 2031)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid4().hex[:10]}"


async def reset_settings(client: Client, world: World) -> None:
    """The default policy and no override for the years these tests touch."""
    admin = world.headers["admin"]
    reset = await client.post(f"{BASE}/sla-rules", headers=admin, json={"rules": []})
    assert reset.status_code == 200, reset.text
    for year in TOUCHED_YEARS:
        cleared = await client.post(f"{BASE}/calendar/{year}/clear", headers=admin)
        assert cleared.status_code == 200, cleared.text


@pytest.fixture(autouse=True)
async def restore_settings(client: Client, world: World) -> AsyncIterator[None]:
    # Before too: anything earlier in the session (the contract fuzzer, as an admin) may have
    # changed these system-wide settings.
    await reset_settings(client, world)
    yield
    await reset_settings(client, world)


async def define_category(client: Client, world: World, **fields: Any) -> httpx.Response:
    body = {"code": unique("cat"), "label": "测试分类", **fields}
    return await client.post(f"{BASE}/case-categories", headers=world.headers["admin"], json=body)


def rule(points: int = 5, **fields: Any) -> Json:
    return {
        "code": unique("visit"),
        "trigger": "visit_recorded",
        "target": "staff",
        "points": points,
        "label": "入户走访",
        "daily_cap": 20,
        "effective_from": "2026-01-01",
        **fields,
    }


# -- case categories -----------------------------------------------------------------------


async def test_admin_defines_relabels_and_retires_a_category_that_everyone_reads(
    client: Client, world: World, container: Container
) -> None:
    # given a new top-level category with a sub-category
    parent = await define_category(client, world, label="安全生产", mediation_eligible=False)
    assert parent.status_code == 201, parent.text
    code = parent.json()["code"]
    child = await define_category(client, world, label="燃气隐患", parent_code=code)
    assert child.status_code == 201, child.text

    # when the admin relabels the parent and retires the child
    admin = world.headers["admin"]
    relabelled = await client.post(
        f"{BASE}/case-categories/{code}/relabel", headers=admin, json={"label": "安全隐患"}
    )
    retired = await client.post(
        f"{BASE}/case-categories/{child.json()['code']}/retire",
        headers=admin,
        json={"reason": "并入安全隐患"},
    )

    # then the answers show the change, a grid member lists only the active one
    assert (relabelled.json()["label"], relabelled.json()["version"]) == ("安全隐患", 2)
    assert retired.json()["active"] is False
    listed = await client.get(f"{BASE}/case-categories", headers=world.headers["member_b1"])
    codes = {c["code"] for c in listed.json()}
    assert code in codes
    assert child.json()["code"] not in codes
    # and a case service sees the retired one as such
    info = await reference.active_category(container, child.json()["code"])
    assert info is not None
    assert (info.active, info.parent_code, info.label) == (False, code, "燃气隐患")
    assert await reference.active_category(container, unique("nope")) is None


async def test_bad_category_commands_get_clear_errcodes(client: Client, world: World) -> None:
    first = await define_category(client, world)
    code = first.json()["code"]
    admin = world.headers["admin"]

    again = await define_category(client, world, code=code, label="重名")
    unknown = await client.post(
        f"{BASE}/case-categories/{unique('nope')}/relabel", headers=admin, json={"label": "x"}
    )
    bad_code = await define_category(client, world, code="Bad Code")
    orphan = await define_category(client, world, parent_code=unique("nope"))
    by_member = await client.post(
        f"{BASE}/case-categories",
        headers=world.headers["head_a"],
        json={"code": unique("cat"), "label": "越权"},
    )
    await client.post(f"{BASE}/case-categories/{code}/retire", headers=admin, json={"reason": "x"})
    twice = await client.post(
        f"{BASE}/case-categories/{code}/retire", headers=admin, json={"reason": "x"}
    )

    assert (again.status_code, again.json()["errcode"]) == (409, 40911)
    assert (unknown.status_code, unknown.json()["errcode"]) == (404, 40400)
    assert (bad_code.status_code, bad_code.json()["errcode"]) == (400, 40010)
    assert (orphan.status_code, orphan.json()["errcode"]) == (404, 40400)
    assert (by_member.status_code, by_member.json()["errcode"]) == (403, 40300)
    assert (twice.status_code, twice.json()["errcode"]) == (409, 40910)


async def test_default_categories_are_seeded_once(client: Client, container: Container) -> None:
    # given the defaults ensured (the app's start-up does this)
    await reference.ensure_default_categories(container)
    before = await reference.active_category(container, "neighbour_dispute")

    # when start-up ensures them again
    await reference.ensure_default_categories(container)

    # then nothing changed: the same version, a mediation-eligible child of "dispute"
    after = await reference.active_category(container, "neighbour_dispute")
    assert before == after
    assert after is not None
    assert (after.parent_code, after.mediation_eligible) == ("dispute", True)
    assert after.label == "邻里纠纷"
    hazard = await reference.active_category(container, "hazard")
    assert hazard is not None
    assert hazard.label == "隐患"


# -- SLA rules -----------------------------------------------------------------------------


async def test_sla_policy_is_the_default_until_an_admin_sets_rules(
    client: Client, world: World, container: Container
) -> None:
    # given no admin rules, the effective policy is the default
    shown = await client.get(f"{BASE}/sla-rules", headers=world.headers["member_a1"])
    assert shown.json()["source"] == "default"
    assert len(shown.json()["rules"]) == len(DEFAULT_POLICY.rules)
    assert await reference.sla_policy(container) == DEFAULT_POLICY

    # when an admin sets two rules, one for disputes
    await reference.ensure_default_categories(container)
    rules = [
        {"level": 3, "stage": "handling", "limit_days": 2},
        {"level": 3, "stage": "handling", "category": "dispute", "limit_hours": 10.5,
         "yellow_at": 0.5, "red_at": 0.9},
    ]  # fmt: skip
    replaced = await client.post(
        f"{BASE}/sla-rules", headers=world.headers["admin"], json={"rules": rules}
    )

    # then the policy is the admin's, for the API and for the services
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["source"], len(replaced.json()["rules"])) == ("admin", 2)
    policy = await reference.sla_policy(container)
    assert policy.rule_for(3, "dispute", "handling") == SlaRule(
        level=3, stage="handling", category="dispute", limit_hours=10.5, yellow_at=0.5, red_at=0.9
    )
    assert policy.rule_for(3, "hazard", "handling") == SlaRule(
        level=3, stage="handling", limit_days=2
    )
    assert policy.rule_for(2, None, "acceptance") is None

    # and an empty set brings the default back
    await client.post(f"{BASE}/sla-rules", headers=world.headers["admin"], json={"rules": []})
    assert await reference.sla_policy(container) == DEFAULT_POLICY


@pytest.mark.parametrize(
    "rules",
    [
        [{"level": 3, "stage": "handling", "limit_days": 2, "yellow_at": 0.9, "red_at": 0.8}],
        [{"level": 3, "stage": "handling", "limit_days": 2, "limit_hours": 4}],
        [{"level": 3, "stage": "handling", "limit_days": 0}],
        [
            {"level": 3, "stage": "handling", "limit_days": 2},
            {"level": 3, "stage": "handling", "limit_hours": 4},
        ],
        [{"level": 3, "stage": "handling", "limit_days": 2, "category": "no_such_category"}],
    ],
    ids=["yellow-after-red", "two-limits", "zero-days", "duplicate", "unknown-category"],
)
async def test_invalid_sla_rules_are_refused_and_nothing_changes(
    client: Client, world: World, container: Container, rules: list[Json]
) -> None:
    # given admin rules in force
    admin = world.headers["admin"]
    kept = [{"level": 2, "stage": "dispatch", "limit_days": 1}]
    assert (await client.post(f"{BASE}/sla-rules", headers=admin, json={"rules": kept})).is_success
    before = (await client.get(f"{BASE}/sla-rules", headers=admin)).json()

    # when an admin sends an invalid set
    refused = await client.post(f"{BASE}/sla-rules", headers=admin, json={"rules": rules})

    # then it is refused with 40010 and the rules in force are the same
    assert (refused.status_code, refused.json()["errcode"]) == (400, 40010), refused.text
    assert (await client.get(f"{BASE}/sla-rules", headers=admin)).json() == before


async def test_only_admins_change_sla_rules(client: Client, world: World) -> None:
    body = {"rules": [{"level": 3, "stage": "handling", "limit_days": 1}]}
    for who in ("supervisor", "head_a", "member_a1"):
        refused = await client.post(f"{BASE}/sla-rules", headers=world.headers[who], json=body)
        assert (refused.status_code, refused.json()["errcode"]) == (403, 40300)
    shown = await client.get(f"{BASE}/sla-rules", headers=world.headers["supervisor"])
    assert shown.json()["source"] == "default"


# -- working calendar ------------------------------------------------------------------------


async def test_an_override_replaces_the_built_in_year(
    client: Client, world: World, container: Container
) -> None:
    # given 2026, covered by the built-in data: National Day is a holiday
    admin, member = world.headers["admin"], world.headers["member_a1"]
    built_in = (await client.get(f"{BASE}/calendar/2026", headers=member)).json()
    assert (built_in["source"], built_in["covered"]) == ("built-in", True)
    assert "2026-10-01" in built_in["holidays"]
    assert "2026-10-10" in built_in["makeup_days"]

    # when an admin overrides 2026 with a revised arrangement
    override = {"holidays": ["2026-01-01", "2026-10-02"], "makeup_days": ["2026-10-11"]}
    set_year = await client.post(f"{BASE}/calendar/2026", headers=admin, json=override)

    # then the year reads as the override, and deadlines use it
    assert set_year.status_code == 200, set_year.text
    assert set_year.json() == {"year": 2026, "source": "override", "covered": True, **override}
    calendar = await reference.working_calendar(container)
    assert calendar.is_working_day(date(2026, 10, 1))
    assert not calendar.is_working_day(date(2026, 10, 2))
    assert calendar.is_working_day(date(2026, 10, 11))  # a Sunday made a working day
    due = calendar.add_working_days(datetime(2026, 10, 1, 9, tzinfo=CHINA_TZ), 1)
    assert due == datetime(2026, 10, 5, 17, 30, tzinfo=CHINA_TZ)

    # and clearing it brings the built-in data back
    cleared = await client.post(f"{BASE}/calendar/2026/clear", headers=admin)
    assert cleared.json() == built_in
    assert not (await reference.working_calendar(container)).is_working_day(date(2026, 10, 1))


async def test_a_year_without_data_is_weekdays_only_until_overridden(
    client: Client, world: World, container: Container
) -> None:
    # given 2031, which the built-in data does not cover
    shown = (await client.get(f"{BASE}/calendar/2031", headers=world.headers["auditor"])).json()
    assert shown == {
        "year": 2031, "source": "weekdays-only", "covered": False, "holidays": [],
        "makeup_days": [],
    }  # fmt: skip
    assert not (await reference.working_calendar(container)).covered(2031)

    # when an admin sets its arrangement
    body = {"holidays": ["2031-01-01"], "makeup_days": []}
    await client.post(f"{BASE}/calendar/2031", headers=world.headers["admin"], json=body)

    # then it is covered
    assert (await reference.working_calendar(container)).covered(2031)
    again = await client.get(f"{BASE}/calendar/2031", headers=world.headers["admin"])
    assert (again.json()["source"], again.json()["covered"]) == ("override", True)


async def test_bad_calendar_input_is_refused(client: Client, world: World) -> None:
    admin = world.headers["admin"]
    monday = await client.post(
        f"{BASE}/calendar/2031", headers=admin, json={"holidays": [], "makeup_days": ["2031-01-06"]}
    )
    other_year = await client.post(
        f"{BASE}/calendar/2031", headers=admin, json={"holidays": ["2030-10-01"]}
    )
    out_of_range = await client.get(f"{BASE}/calendar/1990", headers=admin)
    by_supervisor = await client.post(
        f"{BASE}/calendar/2031", headers=world.headers["supervisor"], json={"holidays": []}
    )

    assert (monday.status_code, monday.json()["errcode"]) == (400, 40010)
    assert (other_year.status_code, other_year.json()["errcode"]) == (400, 40010)
    assert (out_of_range.status_code, out_of_range.json()["errcode"]) == (400, 40001)
    assert (by_supervisor.status_code, by_supervisor.json()["errcode"]) == (403, 40300)
    shown = await client.get(f"{BASE}/calendar/2031", headers=admin)
    assert shown.json()["source"] == "weekdays-only"


# -- point rules ---------------------------------------------------------------------------


async def test_point_rules_are_versioned_by_effective_date(
    client: Client, world: World, container: Container
) -> None:
    # given a rule defined from 1 Jan 2026
    admin = world.headers["admin"]
    defined = await client.post(f"{BASE}/point-rules", headers=admin, json=rule(points=5))
    assert defined.status_code == 201, defined.text
    code = defined.json()["code"]

    # when it is revised from 1 Apr and retired from 1 Jul
    revised = await client.post(
        f"{BASE}/point-rules/{code}/revise",
        headers=admin,
        json={"points": 8, "label": "入户走访", "daily_cap": 24, "effective_from": "2026-04-01"},
    )
    retired = await client.post(
        f"{BASE}/point-rules/{code}/retire",
        headers=admin,
        json={"reason": "改为考核", "effective_from": "2026-07-01"},
    )

    # then each date finds the version in force, and none after retirement
    assert revised.json()["current"]["rule_version"] == 2
    assert retired.json()["retired_from"] == "2026-07-01"
    march = await reference.point_rule_version(container, code, date(2026, 3, 31))
    april = await reference.point_rule_version(container, code, date(2026, 4, 1))
    assert (march and march.points, april and april.points) == (5, 8)
    assert april is not None
    assert (april.rule_version, april.trigger, april.target, april.daily_cap) == (
        2, "visit_recorded", "staff", 24,
    )  # fmt: skip
    assert await reference.point_rule_version(container, code, date(2025, 12, 31)) is None
    assert await reference.point_rule_version(container, code, date(2026, 7, 1)) is None
    # and the rule shows all its versions; lists hide it unless asked
    shown = await client.get(f"{BASE}/point-rules/{code}", headers=world.headers["member_a1"])
    assert [v["points"] for v in shown.json()["versions"]] == [5, 8]
    active = await client.get(f"{BASE}/point-rules", headers=world.headers["member_a1"])
    assert code not in {r["code"] for r in active.json()}
    everything = await client.get(
        f"{BASE}/point-rules", headers=admin, params={"include_retired": "true"}
    )
    assert code in {r["code"] for r in everything.json()}


async def test_bad_point_rule_commands_get_clear_errcodes(client: Client, world: World) -> None:
    admin = world.headers["admin"]
    body = rule()
    first = await client.post(f"{BASE}/point-rules", headers=admin, json=body)
    assert first.status_code == 201, first.text

    again = await client.post(f"{BASE}/point-rules", headers=admin, json=body)
    positive_deduction = await client.post(
        f"{BASE}/point-rules",
        headers=admin,
        json=rule(trigger="staff_deduction", points=5, daily_cap=None),
    )
    backwards = await client.post(
        f"{BASE}/point-rules/{body['code']}/revise",
        headers=admin,
        json={"points": 6, "label": "入户走访", "effective_from": "2025-06-01"},
    )
    unknown = await client.get(f"{BASE}/point-rules/{unique('nope')}", headers=admin)
    by_head = await client.post(f"{BASE}/point-rules", headers=world.headers["head_a"], json=rule())

    assert (again.status_code, again.json()["errcode"]) == (409, 40911)
    assert (positive_deduction.status_code, positive_deduction.json()["errcode"]) == (400, 40010)
    assert (backwards.status_code, backwards.json()["errcode"]) == (400, 40010)
    assert (unknown.status_code, unknown.json()["errcode"]) == (404, 40400)
    assert (by_head.status_code, by_head.json()["errcode"]) == (403, 40300)
    shown = await client.get(f"{BASE}/point-rules/{body['code']}", headers=admin)
    assert len(shown.json()["versions"]) == 1


# -- the phone's bundle --------------------------------------------------------------------


async def test_the_bundle_carries_what_a_phone_needs_and_its_revision_moves(
    client: Client, world: World, container: Container
) -> None:
    # given the defaults and a point rule
    await reference.ensure_default_categories(container)
    admin, member = world.headers["admin"], world.headers["member_a1"]
    code = (await client.post(f"{BASE}/point-rules", headers=admin, json=rule())).json()["code"]
    before = (await client.get(BASE, headers=member)).json()

    # when an admin defines a category
    category = (await define_category(client, world)).json()["code"]

    # then a grid member's bundle has categories, rules in force and the SLA policy
    after = await client.get(BASE, headers=member)
    assert after.status_code == 200, after.text
    bundle = after.json()
    assert {"hazard", "dispute", category} <= {c["code"] for c in bundle["categories"]}
    assert code in {r["code"] for r in bundle["point_rules"]}
    assert bundle["sla"]["source"] == "default"
    assert bundle["revision"] > before["revision"]
    # and it stays small enough for a phone
    assert len(after.content) < 1_000_000
