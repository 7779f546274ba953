"""Stateful contract: follow the published OpenAPI links through the whole API.

The document links every answer to the operations that act on what it describes
(``backend/http/openapi_links.py``): a case reported leads to accept, dispatch, handle, close …;
a household registered leads to its persons, updates and conflicts; a list leads to its first
item. Schemathesis' state machine walks those links in seeded sequences, as the town admin and
as a grid member, and every answer is judged: no 5xx, a documented status, a body that conforms
to its schema, a documented content type.

It runs like ``test_openapi_contract.py`` (read its docstring): schemathesis generates and
judges, the requests go through an ASGI httpx client on the session loop
(``tests/support/stateful.py``). Scenarios start where a client starts: a create of each
resource family (half of them from a plausible body naming this module's township) or a list.
Generated path parameters and body fields often name the township's units, staff, household
and case, so sequences reach resources that exist. The caller is never relieved, reassigned,
moved or retired by its own run (that would end or change its session mid-run).

Seeded, no example database, bounded (``SCENARIOS`` × ``MAX_STEPS``). A longer manual run:
``GRIDLEDGER_STATEFUL_SCALE=6 GRIDLEDGER_STATEFUL_SEED=any-text`` (six times the scenarios, a
different walk); ``-s`` prints what was called and answered. The links themselves are checked
in ``test_openapi_links.py``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
import pytest
import schemathesis
from anyio import to_thread
from schemathesis import Case, CheckFunction
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.bootstrap import Container
from backend.services.reference import ensure_default_categories
from tests.support.stateful import Template, explore_links, use_known_values
from tests.support.world import World, build_world

Json = dict[str, Any]

ROLES: Final = ("admin", "member_a1")
SCALE: Final = int(os.environ.get("GRIDLEDGER_STATEFUL_SCALE", "1"))
"""Longer walks for a manual run (e.g. 10): more scenarios, same steps per scenario."""
SEED: Final = os.environ.get("GRIDLEDGER_STATEFUL_SEED", "")
"""Another seed for a manual run; empty in the test command, so every run walks alike."""
SCENARIOS: Final = {"admin": 40 * SCALE, "member_a1": 25 * SCALE}
MAX_STEPS: Final = 12
MIN_LINKS_ANSWERED: Final = {"admin": 5, "member_a1": 2}
"""Distinct links a walk must have followed to a 2xx answer: it really walked the links (a
member may do little, most actions are the heads' and the office's)."""
CHECKS: Final[tuple[CheckFunction, ...]] = (
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
)
_SELF_ENDING: Final = {
    "staff_id": frozenset({"relieveStaff", "reassignStaff"}),
    "unit_id": frozenset({"moveGridUnit", "retireGridUnit"}),
}
"""Actions the caller must not aim at itself: its own record, or its own scope unit."""


# -- walking them --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    role: str
    world: World
    headers: dict[str, str]
    path_values: dict[str, list[str]]
    body_values: dict[str, list[str]]
    own: dict[str, str]


async def _seed(api: httpx.AsyncClient, container: Container, world: World) -> dict[str, str]:
    """A household and a case in grid A1 (so a member of A1 may act on them too)."""
    admin = world.headers["admin"]
    await ensure_default_categories(container)
    household = await api.post(
        "/v1/households",
        headers=admin,
        json={
            "household_no": f"ST-{world.codes['grid_a1']}",
            "grid_id": str(world.grid_a1),
            "address": "甲村 2 组 1 号",
            "persons": [{"name": "赵大山", "relation": "户主", "gender": "male"}],
        },
    )
    assert household.status_code == 201, household.text
    case = {
        "id": str(uuid.uuid4()), "category": "hazard", "title": "路灯不亮",
        "description": "村口路灯不亮", "location": "甲村 2 组", "unit_id": str(world.grid_a1),
    }  # fmt: skip
    reported = await api.post("/v1/cases", headers=admin, json=case)
    assert reported.status_code == 201, reported.text
    rule = {
        "code": f"st_{world.codes['grid_a1']}", "trigger": "manual_commendation",
        "target": "household", "points": 10, "label": "助人为乐",
    }  # fmt: skip
    defined = await api.post("/v1/reference/point-rules", headers=admin, json=rule)
    assert defined.status_code == 201, defined.text
    visit = {
        "visit_id": str(uuid.uuid4()), "household_id": household.json()["id"],
        "purpose": "routine", "method": "in_person", "visited_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    recorded = await api.post("/v1/visits", headers=admin, json=visit)
    assert recorded.status_code == 201, recorded.text
    return {
        "household_id": household.json()["id"],
        "person_id": household.json()["persons"][0]["person_id"],
        "case_id": case["id"],
        "rule_code": rule["code"],
        "source_event_id": visit["visit_id"],  # what an award cites (a body value only)
    }


@pytest.fixture(scope="module")
async def caller(
    request: pytest.FixtureRequest, container: Container, api: httpx.AsyncClient
) -> Caller:
    """A fresh township per role, as in the stateless contract test."""
    role: str = request.param
    world = await build_world(container)
    seeded = await _seed(api, container, world)
    units = [str(u) for u in (world.village_a, world.village_b, world.grid_a1, world.grid_b1)]
    staff = [str(s) for key, s in world.staff.items() if key != role]
    path_values = {
        "unit_id": units,
        "staff_id": staff,
        "period": ["2026-Q1", "2026-03"],
        **{k: [v] for k, v in seeded.items() if k not in ("rule_code", "source_event_id")},
        "code": [seeded["rule_code"]],
    }
    body_values = {
        **{key: units for key in ("parent_id", "new_parent_id", "scope_unit_id", "grid_id")},
        "unit_id": units,
        "staff_id": staff,
        "household_id": [seeded["household_id"]],
        "case_id": [seeded["case_id"]],
        "category": ["hazard", "fire_hazard"],
        "rule_code": [seeded["rule_code"]],
        "source_event_id": [seeded["source_event_id"]],
    }
    me = (await api.get("/v1/me", headers=world.headers[role])).json()
    return Caller(
        role=role,
        world=world,
        headers=world.headers[role],
        path_values=path_values,
        body_values=body_values,
        own={"staff_id": me["staff_id"], "unit_id": me["scope_unit_id"]},
    )


_LISTS: Final = (
    "listStaff",
    "listHouseholds",
    "listCaseBoard",
    "listVisits",
    "listAwards",
    "getMe",
)
_GENERATED: Final = ("composeNoticeBoardEdition", "defineAssessmentScheme", "setCalendarYear")


def _starts(caller: Caller) -> dict[str, Template | None]:
    """Where scenarios start: each resource family's create (half of them from a plausible
    body naming this township's grid A1 and household), and the lists."""
    grid, household = str(caller.world.grid_a1), caller.path_values["household_id"][0]
    person, case = caller.path_values["person_id"][0], caller.path_values["case_id"][0]
    rule = caller.body_values["rule_code"][0]
    source = caller.body_values["source_event_id"][0]
    micro = caller.world.codes["grid_a1"]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    templates: dict[str, Template] = {
        "createGridUnit": lambda u: {
            "code": f"{micro}{u.int % 90 + 10}", "name": f"微网格{u.hex[:4]}", "level": 4,
            "parent_id": grid,
        },
        "appointStaff": lambda u: {
            "name": f"网格员{u.hex[:2]}", "work_phone": f"138{u.int % 10**8:08d}",
            "role": "grid_member", "scope_unit_id": grid,
        },
        "registerHousehold": lambda u: {
            "household_no": f"ST-{u.hex[:10]}", "grid_id": grid, "address": "甲村 3 组",
            "persons": [{"name": "钱多多", "relation": "户主", "gender": "female"}],
        },
        "reportCase": lambda u: {
            "id": str(u), "category": "hazard", "title": "井盖缺失", "description": "路口井盖缺失",
            "location": "甲村 3 组", "unit_id": grid,
        },
        "recordVisit": lambda u: {
            "visit_id": str(u), "household_id": household, "purpose": "other",
            "method": "in_person", "visited_at": yesterday,
        },
        "defineCaseCategory": lambda u: {"code": f"st_{u.hex[:8]}", "label": f"类别{u.hex[:4]}"},
        "openMediation": lambda u: {
            "mediation_id": str(u), "case_id": case,
            "mediators": [{"kind": "wulao", "name": "周老"}],
            "parties": [
                {"kind": "household", "ref_id": household, "role": "applicant"},
                {"kind": "person", "ref_id": person, "role": "respondent"},
            ],
        },
        "proposeAward": lambda u: {
            "rule_code": rule, "source_event_id": source, "owner_kind": "household",
            "owner_id": household, "reason": "帮邻居抢收",
        },
        "definePointRule": lambda u: {
            "code": f"st_{u.hex[:8]}", "trigger": "household_conduct", "target": "household",
            "points": u.int % 20 - 10, "label": f"规则{u.hex[:4]}",
        },
    }  # fmt: skip
    return {**templates, **dict.fromkeys((*_GENERATED, *_LISTS))}


def _spare_the_caller(caller: Caller) -> Any:
    """Re-aim a self-ending action (relieve myself, retire my own scope) at someone else."""

    def prepare(case: Case[Any]) -> None:
        params = case.path_parameters or {}
        operation_id = case.operation.definition.raw.get("operationId")
        for name, operations in _SELF_ENDING.items():
            if operation_id in operations and str(params.get(name)) == caller.own[name]:
                params[name] = caller.path_values[name][-1]

    return prepare


@pytest.mark.parametrize("caller", ROLES, indirect=True)
async def test_linked_sequences_honour_the_contract(
    caller: Caller, api: httpx.AsyncClient, raw_schema: Json, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="httpx")  # one INFO line per request otherwise
    # Only the published links: schemathesis' own link inference would change with its version.
    config = schemathesis.Config.from_dict(
        {"phases": {"stateful": {"inference": {"algorithms": []}}}}
    )
    schema = schemathesis.openapi.from_dict(raw_schema, config=config)
    use_known_values(schema, path=caller.path_values, body=caller.body_values)
    loop = asyncio.get_running_loop()
    walk = await to_thread.run_sync(
        lambda: explore_links(
            schema=schema,
            client=api,
            loop=loop,
            headers=caller.headers,
            checks=CHECKS,
            scenarios=SCENARIOS[caller.role],
            max_steps=MAX_STEPS,
            random_seed=zlib.crc32(f"stateful:{caller.role}{SEED}".encode()),
            prepare=_spare_the_caller(caller),
            starts=_starts(caller),
        )
    )
    print(f"as {caller.role}: {walk.render()}\n{walk.render_calls()}")
    assert len(walk.answered) >= MIN_LINKS_ANSWERED[caller.role], (
        f"the walk hardly got past its first steps: {walk.render()}\n{walk.render_calls()}"
    )
    if walk.report.findings:
        pytest.fail(f"as {caller.role}: {walk.render()}\n{walk.report.render()}", pytrace=False)
