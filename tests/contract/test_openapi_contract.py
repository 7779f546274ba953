"""The OpenAPI document is the contract with the mini-program: check it, then fuzz every operation.

How the fuzzing runs, and why this way
--------------------------------------
The container (asyncpg pool, event log, projection workers) lives on pytest's session event
loop. Schemathesis' own ASGI transport (``case.call()`` / ``call_and_validate()``) drives the
app through a sync client that runs it on a loop of its own, which breaks the pool ("attached to
a different loop"). A uvicorn server with its own container would work but costs a second
container, a port and a thread. So schemathesis only *generates* and *judges*:

* Hypothesis draws cases from ``APIOperation.as_strategy()`` (positive and negative data, plus
  positive data aimed at resources that exist in this module's township) in a worker thread;
* each case is serialised by schemathesis (``case.as_transport_kwargs()``), sent through an
  ``httpx.AsyncClient`` over ASGI on the session loop (``asyncio.run_coroutine_threadsafe``;
  the test awaits the thread, so the loop is free to serve);
* ``case.validate_response(httpx_response, checks=...)`` runs the checks: no 5xx, status
  documented, body conforms to its schema, content type documented.

Everything that answers goes to one report per operation and role (all distinct defects, each
with the first request that showed it) instead of stopping at the first. Generation is seeded
per operation and role, with no example database and no shrinking: the same requests every run
(only ids differ: each run has a fresh township).

The app under test is the session app's container with one difference: ``wxLogin`` talks to a
local WeChat stand-in instead of api.weixin.qq.com (a copy of the container, same pools).

Calls run as the town admin and as a grid member (the public operations only once). ``logout``
uses a session of its own so it does not end the caller's. Whatever the fuzzer writes stays in
this module's township; ``max_examples`` keeps it to a few hundred rows.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import zlib
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

import httpx
import jsonschema_rs
import pytest
import schemathesis
from anyio import to_thread
from schemathesis import CheckFunction
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.definitions import OPENAPI_31
from schemathesis.specs.openapi.schemas import OpenApiSchema

from backend.bootstrap import Container
from backend.services.auth import auth_service
from backend.services.reference import ensure_default_categories
from tests.support.contract import fuzz_operation
from tests.support.world import World, build_world

Json = dict[str, Any]

# -- the contract's fixed points ------------------------------------------------------------

OPERATION_IDS: Final = (
    "getHealth",
    "wxLogin",
    "refreshToken",
    "logout",
    "unbindDevice",
    "getMe",
    "listGridUnits",
    "createGridUnit",
    "getGridUnit",
    "moveGridUnit",
    "renameGridUnit",
    "retireGridUnit",
    "listStaff",
    "appointStaff",
    "getStaff",
    "listStaffAssignments",
    "uploadMedia",
    "getMedia",
    "createPublicMediaCopy",
    "issueBindingCode",
    "reassignStaff",
    "relieveStaff",
    "listHouseholds",
    "registerHousehold",
    "getHousehold",
    "updateHousehold",
    "resolveHouseholdConflict",
    "addHouseholdPerson",
    "removeHouseholdPerson",
    "tagHouseholdPerson",
    "untagHouseholdPerson",
    "moveHousehold",
    "dissolveHousehold",
    "importLedger",
    "recordVisit",
    "listVisits",
    "getVisit",
    "amendVisit",
    "voidVisit",
    "openMediation",
    "listMediations",
    "getMediation",
    "recordMediationSession",
    "concludeMediation",
    "recordMediationFollowUp",
    "proposeAward",
    "listAwards",
    "getAward",
    "approveAward",
    "rejectAward",
    "revokeAward",
    "getPointsAccount",
    "redeemPoints",
    "cancelRedemption",
    "getReferenceData",
    "listCaseCategories",
    "defineCaseCategory",
    "relabelCaseCategory",
    "retireCaseCategory",
    "getSlaRules",
    "replaceSlaRules",
    "getWorkingCalendar",
    "setCalendarYear",
    "clearCalendarYear",
    "listPointRules",
    "definePointRule",
    "getPointRule",
    "revisePointRule",
    "retirePointRule",
    "reportCase",
    "getCase",
    "acceptCase",
    "rejectCase",
    "registerCase",
    "dispatchCase",
    "signForCase",
    "returnCase",
    "handleCase",
    "verifyCase",
    "failCaseVerification",
    "closeCase",
    "reopenCase",
    "reportCaseUp",
    "superviseCase",
    "requestCaseDelay",
    "decideCaseDelay",
    "suspendCase",
    "resumeCase",
    "recordCaseSatisfaction",
    "listCaseBoard",
    "listOverdueCases",
    "listEscalatedCases",
    "getMetrics",
    "getProjectionStatus",
    "getMemberProfile",
    "listGridCoverage",
    "rankGrids",
    "rankMembers",
    "createExport",
    "listExportAudit",
    "listAssessmentSchemes",
    "getAssessmentScheme",
    "defineAssessmentScheme",
    "reviseAssessmentScheme",
    "retireAssessmentScheme",
    "rankAssessments",
    "exportAssessmentRankings",
    "explainUnitScore",
    "explainMemberScore",
    "signOffAssessment",
    "getAssessmentSignOff",
    "getLatestLogCheckpoint",
    "listLogCheckpoints",
    "getLogEntry",
    "getLogInclusionProof",
    "getLogConsistencyProof",
    "listLogKeys",
    "getPublicLogCheckpoint",
    "getPublicLogKeys",
    "checkPublicLogConsistency",
    "exportEvidenceBundle",
    "listAccessAudit",
    "composeNoticeBoardEdition",
    "listNoticeBoardEditions",
    "getNoticeBoardEdition",
    "approveNoticeBoardEdition",
    "publishNoticeBoardEdition",
    "withdrawNoticeBoardEdition",
    "getPublicNoticeBoard",
    "getPublicNoticeBoardPage",
    "syncPush",
    "syncPull",
    "listSyncReview",
    "acceptSyncReview",
    "rejectSyncReview",
    "listSyncDevices",
)
"""Every operationId the mini-program may call. Renaming one breaks shipped clients: change this
list only together with mobile-api."""
OPTIONAL_OPERATION_IDS: Final = frozenset({"devLogin"})
"""Served only on the embedded default (never in this suite, which uses external services)."""
PUBLIC_OPERATION_IDS: Final = frozenset(
    {"getHealth", "wxLogin", "refreshToken", "devLogin"}
    # the evidence log's publication: checkpoint copies must be had without an account
    | {"getPublicLogCheckpoint", "getPublicLogKeys", "checkPublicLogConsistency"}
    # the public notice board (公示栏): what residents read, on screen or printed
    | {"getPublicNoticeBoard", "getPublicNoticeBoardPage"}
)
"""Reachable without an access token; every other operation declares bearer security."""
BEARER_SCHEME: Final = "bearerAuth"

ROLES: Final = ("admin", "member_a1")
MAX_EXAMPLES: Final = {"admin": 30, "member_a1": 20}
CHECKS: Final[tuple[CheckFunction, ...]] = (
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
)

# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_schema(raw_schema: Json) -> OpenApiSchema:
    return schemathesis.openapi.from_dict(raw_schema, config=schemathesis.Config())


@dataclass(frozen=True)
class Caller:
    role: str
    world: World
    headers: dict[str, str]
    logout_headers: dict[str, str]
    known: dict[str, list[str]]


async def _known_household(api: httpx.AsyncClient, world: World) -> dict[str, list[str]]:
    """A household in grid A1 (members of A1 see it) with one recorded conflict."""
    admin = world.headers["admin"]
    registered = await api.post(
        "/v1/households",
        headers=admin,
        json={
            "household_no": f"CT-{world.codes['grid_a1']}",
            "grid_id": str(world.grid_a1),
            "address": "甲村 1 组 1 号",
            "persons": [
                {"name": "王建国", "relation": "户主", "gender": "male"},
                {"name": "李秀英", "relation": "配偶", "gender": "female"},
            ],
        },
    )
    assert registered.status_code == 201, registered.text
    household = registered.json()
    by_relation = {p["relation"]: p["person_id"] for p in household["persons"]}
    path = f"/v1/households/{household['id']}/updates"
    conflict_ids: list[str] = []
    for address in ("甲村 1 组 2 号", "甲村 1 组 3 号"):  # both from version 1: a conflict
        update = await api.post(
            path,
            headers=admin,
            json={"base_version": 1, "changes": [{"path": "address", "value": address}]},
        )
        assert update.status_code == 200, update.text
        conflict_ids += update.json()["conflict_ids"]
    known = {
        "household_id": [household["id"]],
        # In a fixed order (the file may list them otherwise), so seeds pick the same one.
        "person_id": [by_relation["户主"], by_relation["配偶"]],
    }
    if conflict_ids:
        known["conflict_id"] = conflict_ids
    return known


async def _known_case(api: httpx.AsyncClient, container: Container, world: World) -> str:
    """A case in grid A1, so the case actions are fuzzed against one that exists."""
    await ensure_default_categories(container)
    body = {
        "id": str(uuid.uuid4()), "category": "hazard", "title": "电线老化",
        "description": "门前电线老化", "location": "甲村 1 组", "unit_id": str(world.grid_a1),
    }  # fmt: skip
    reported = await api.post("/v1/cases", headers=world.headers["admin"], json=body)
    assert reported.status_code == 201, reported.text
    return body["id"]


@pytest.fixture(scope="module")
async def caller(
    request: pytest.FixtureRequest, container: Container, api: httpx.AsyncClient
) -> Caller:
    """A fresh township per role, so what one role's fuzzing changes cannot mislead the other."""
    role: str = request.param
    world = await build_world(container)
    logout = await auth_service(container).dev_login(world.staff[role], "contract-logout")
    units = [world.village_a, world.village_b, world.grid_a1, world.grid_a2, world.grid_b1]
    known = {
        "unit_id": [str(u) for u in units],
        # Never the caller itself: relieving or reassigning it would end the run's session.
        "staff_id": [str(s) for key, s in world.staff.items() if key != role],
        **await _known_household(api, world),
    }
    known["case_id"] = [await _known_case(api, container, world)]
    return Caller(
        role=role,
        world=world,
        headers=world.headers[role],
        logout_headers={"Authorization": f"Bearer {logout.access_token}"},
        known=known,
    )


# -- the document itself ----------------------------------------------------------------------


def _operations(raw: Json) -> list[tuple[str, str, Json]]:
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return [
        (method.upper(), path, operation)
        for path, item in raw["paths"].items()
        for method, operation in item.items()
        if method in methods
    ]


def _resolve(raw: Json, node: Json) -> Json:
    while "$ref" in node:
        ref: str = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = raw
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def _is_error_body(raw: Json, response: Json) -> bool:
    """An ``application/json`` body with required integer ``errcode`` and string ``errmsg``."""
    media = _resolve(raw, response).get("content", {}).get("application/json")
    if media is None or "schema" not in media:
        return False
    schema = _resolve(raw, media["schema"])
    props = schema.get("properties", {})
    return (
        {"errcode", "errmsg"} <= set(schema.get("required", []))
        and _resolve(raw, props.get("errcode", {})).get("type") == "integer"
        and _resolve(raw, props.get("errmsg", {})).get("type") == "string"
    )


def test_schema_is_valid_openapi_3_1(raw_schema: Json, api_schema: OpenApiSchema) -> None:
    assert str(raw_schema["openapi"]).startswith("3.1."), raw_schema["openapi"]
    validator = jsonschema_rs.validator_for(OPENAPI_31)
    errors = [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in validator.iter_errors(raw_schema)
    ]
    assert errors == [], "\n".join(errors)
    bad_components = {}
    for name, schema in raw_schema.get("components", {}).get("schemas", {}).items():
        try:
            jsonschema_rs.meta.validate(schema)
        except jsonschema_rs.ValidationError as exc:
            bad_components[name] = exc.message
    assert bad_components == {}
    api_schema.validate()  # schemathesis' own loader accepts it too


def test_operation_ids_are_unique_and_stable(raw_schema: Json) -> None:
    ids: list[str] = [op.get("operationId", "") for _, _, op in _operations(raw_schema)]
    missing = [f"{m} {p}" for m, p, op in _operations(raw_schema) if not op.get("operationId")]
    assert missing == [], f"operations without operationId: {missing}"
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == [], f"operationIds used twice: {duplicates}"
    served = set(ids) - OPTIONAL_OPERATION_IDS
    assert served == set(OPERATION_IDS), (
        f"new, unlisted: {sorted(served - set(OPERATION_IDS))}; "
        f"gone or renamed: {sorted(set(OPERATION_IDS) - served)} — update OPERATION_IDS "
        "(and mobile-api) deliberately"
    )
    not_camel = [i for i in ids if i and not (i[0].islower() and i.isalnum())]
    assert not_camel == [], f"operationIds not in lowerCamelCase: {not_camel}"


def test_every_operation_documents_its_error_body(raw_schema: Json) -> None:
    """Every 4xx/5xx an operation documents is the ``{errcode, errmsg}`` body, and the ones
    that can always happen are documented: 400 when it takes input, 401 when it needs a token,
    404 when its path names a resource, 408 when it takes a body (sent too slowly), and 503 for
    every operation (a database restart or an S3 outage)."""
    problems: list[str] = []
    for method, path, operation in _operations(raw_schema):
        label = f"{operation.get('operationId')} ({method} {path})"
        responses: Json = operation.get("responses", {})
        errors = {code: r for code, r in responses.items() if code[0] in "45"}
        if not errors:
            problems.append(f"{label}: documents no error response")
        for code, response in sorted(errors.items()):
            if not _is_error_body(raw_schema, response):
                problems.append(f"{label}: {code} is not documented as {{errcode, errmsg}}")
        expected = {"503"}
        if operation.get("requestBody"):
            expected.add("408")
        if operation.get("parameters") or operation.get("requestBody"):
            expected.add("400")
        if operation.get("security"):
            expected.add("401")
        if "{" in path:
            expected.add("404")
        for code in sorted(expected - set(responses)):
            problems.append(f"{label}: {code} can happen but is not documented")
    if problems:
        pytest.fail(f"{len(problems)} problems:\n" + "\n".join(problems), pytrace=False)


def test_protected_operations_declare_bearer_security(raw_schema: Json) -> None:
    scheme = raw_schema.get("components", {}).get("securitySchemes", {}).get(BEARER_SCHEME)
    assert scheme is not None, "components.securitySchemes.bearerAuth is missing"
    assert (scheme.get("type"), scheme.get("scheme")) == ("http", "bearer"), scheme
    assert "security" not in raw_schema, "a global security requirement would hide omissions"
    wrong: list[str] = []
    for method, path, operation in _operations(raw_schema):
        op_id = operation.get("operationId")
        declared = operation.get("security")
        if op_id in PUBLIC_OPERATION_IDS:
            if declared:
                wrong.append(f"{op_id} ({method} {path}) is public but declares {declared}")
        elif declared != [{BEARER_SCHEME: []}]:
            wrong.append(f"{op_id} ({method} {path}) declares {declared!r}, not bearerAuth")
    if wrong:
        pytest.fail("\n".join(wrong), pytrace=False)


# -- fuzzing every operation ----------------------------------------------------------------

_RUNS: Final = [
    pytest.param(role, op_id, id=f"{role}-{op_id}")
    for role in ROLES
    for op_id in OPERATION_IDS
    if role == ROLES[0] or op_id not in PUBLIC_OPERATION_IDS
]


@pytest.mark.parametrize(("caller", "operation_id"), _RUNS, indirect=["caller"])
async def test_operation_honours_its_contract(
    caller: Caller,
    operation_id: str,
    api: httpx.AsyncClient,
    api_schema: OpenApiSchema,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="httpx")  # one INFO line per request otherwise
    operation = api_schema.find_operation_by_id(operation_id)
    run = partial(
        fuzz_operation,
        operation=operation,
        client=api,
        loop=asyncio.get_running_loop(),
        headers=caller.logout_headers if operation_id == "logout" else caller.headers,
        checks=CHECKS,
        max_examples=MAX_EXAMPLES[caller.role],
        random_seed=zlib.crc32(f"{caller.role}:{operation_id}".encode()),
        known_path_values=caller.known,
    )
    report = await to_thread.run_sync(run)
    assert report.examples > 0, f"{operation.label}: nothing was generated"
    if report.findings:
        pytest.fail(f"as {caller.role}: {report.render()}", pytrace=False)
