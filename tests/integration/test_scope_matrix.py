"""Scope matrix: the grid member of B1 acting on grid A1's resources, for every operation.

Operations come from the app's OpenAPI schema, so a new endpoint shows up here by itself: the
coverage test fails until the table below says how to call it as member B1. Each call must be
refused (403/404) without a word of A1 in the answer; list operations answer, but with nothing
of A1, while an in-scope caller does see A1 through the same call (so the check has teeth).
"""

from __future__ import annotations

import hashlib
import struct
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import pytest
from litestar import Litestar

from backend.bootstrap import Container
from backend.ledger_import import write_ledger_csv
from backend.services.reference import ensure_default_categories
from backend.workers.sla_scheduler import run_once
from tests.support.households import household_body, person, register, unique_no
from tests.support.world import World
from tests.unit.events.test_case import Clock

Client = httpx.AsyncClient
Kind = Literal["act", "list", "own"]

# Operations that take no grid unit, staff or household: logging in, tokens, who-am-I, health.
EXEMPT = frozenset({"getHealth", "wxLogin", "refreshToken", "logout", "getMe", "devLogin"})
# Reference reads are the same for every caller (system-wide, nothing of any grid in them).
EXEMPT |= {
    "getReferenceData",
    "listCaseCategories",
    "getSlaRules",
    "listPointRules",
    "getPointRule",
}
# Assessment schemes are system-wide scoring rules (no grid's data in them), read by anyone.
EXEMPT |= {"listAssessmentSchemes", "getAssessmentScheme"}
# Operations figures (lag, positions, process) and the export audit: no grid resource in them,
# and only admin/supervisor (metrics) or admin/auditor (audit) may read them at all; member B1
# is refused by role (tests/integration/test_metrics.py, test_exports.py).
EXEMPT |= {"getMetrics", "getProjectionStatus", "listExportAudit"}
# The evidence log: auditor role only (member B1 is refused by role, see
# tests/integration/test_audit_log_api.py), and its public checkpoint, keys and consistency
# check carry only hashes and signatures, nothing of any grid.
EXEMPT |= {
    "getLatestLogCheckpoint",
    "listLogCheckpoints",
    "getLogInclusionProof",
    "getLogConsistencyProof",
    "listLogKeys",
    "getPublicLogCheckpoint",
    "getPublicLogKeys",
    "checkPublicLogConsistency",
}
# The access audit: auditor role only, across the township (member B1 is refused by role, see
# tests/integration/test_access_audit.py); it takes no grid resource to probe with.
EXEMPT |= {"listAccessAudit"}


@dataclass
class A1:
    """Grid A1's resources, and the words of A1 that must never reach member B1."""

    unit_id: str
    staff_id: str
    household_id: str
    household_version: int
    head_id: str
    spouse_id: str
    conflict_id: str
    secrets: list[str]
    photo: bytes = b""
    sha256: str = ""
    # field work in A1: a visit, a mediation, an approved award and a redemption
    visit_id: str = ""
    mediation_id: str = ""
    award_id: str = ""
    redemption_id: str = ""
    rule_code: str = ""
    case_id: str = ""  # a case member A1 reported, overdue and escalated
    edition_id: str = ""  # a draft notice-board edition of village A (names A1 and its member)

    def path_values(self) -> dict[str, str]:
        return {
            "unit_id": self.unit_id,
            "staff_id": self.staff_id,
            "household_id": self.household_id,
            "person_id": self.spouse_id,
            "conflict_id": self.conflict_id,
            "sha256": self.sha256,
            "visit_id": self.visit_id,
            "mediation_id": self.mediation_id,
            "award_id": self.award_id,
            "owner_kind": "household",
            "owner_id": self.household_id,
            "redemption_id": self.redemption_id,
            "case_id": self.case_id,
            "edition_id": self.edition_id,
            # reference data: a default category code and a built-in calendar year
            "code": "hazard",
            "year": "2026",
            # the evidence log: an early stored event (auditors only; B1 is refused by role)
            "position": "1",
            # assessments: the quarter A1's field work lands in (server time)
            "period": _this_quarter(),
            # sync review: an event id of A1 (its visit's id, as phones push it)
            "event_id": self.visit_id,
        }


@dataclass
class Call:
    """How member B1 calls one operation against A1 (path values come from :class:`A1`)."""

    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    files: dict[str, Any] | None = None
    data: dict[str, str] | None = None


def _png() -> bytes:
    """A valid 1×1 PNG, different per module run (a tEXt chunk with a random word)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    note = b"Comment\x00" + unique_no("A1").encode()
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", note)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def _this_quarter() -> str:
    today = datetime.now(UTC).date()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


_SCHEME_PROBE_LINES: dict[str, Any] = {
    "indicators": [{"indicator": "visits", "weight": 100, "full_at": 1}]
}
_SCHEME_PROBE: dict[str, Any] = {"code": "scope-probe", "label": "越权", **_SCHEME_PROBE_LINES}


def _ledger(world: World) -> dict[str, Any]:
    row = {
        "household_no": unique_no("A1IMP"),
        "grid_code": world.codes["grid_a1"],
        "address": "甲村秘密巷8号",
        "name": "越权导入",
        "relation": "户主",
    }
    return {"file": ("ledger.csv", write_ledger_csv([row]), "text/csv")}


TABLE: dict[str, Callable[[World, A1], Call]] = {
    # grid tree
    "listGridUnits": lambda w, a: Call(),
    "getGridUnit": lambda w, a: Call(),
    "createGridUnit": lambda w, a: Call(
        json={
            "code": w.codes["grid_a1"] + "01",
            "name": "越权微网格",
            "level": 4,
            "parent_id": a.unit_id,
        }
    ),
    "renameGridUnit": lambda w, a: Call(json={"name": "越权改名"}),
    "moveGridUnit": lambda w, a: Call(json={"new_parent_id": str(w.village_b)}),
    "retireGridUnit": lambda w, a: Call(json={"reason": "越权撤销"}),
    # staff
    "listStaff": lambda w, a: Call(params={"include_relieved": "true"}),
    "getStaff": lambda w, a: Call(),
    "listStaffAssignments": lambda w, a: Call(),
    "appointStaff": lambda w, a: Call(
        json={
            "name": "越权任命",
            "work_phone": "13912345678",
            "role": "grid_member",
            "scope_unit_id": a.unit_id,
        }
    ),
    "reassignStaff": lambda w, a: Call(
        json={"role": "grid_member", "scope_unit_id": str(w.grid_b1)}
    ),
    "relieveStaff": lambda w, a: Call(json={"reason": "越权免职"}),
    "issueBindingCode": lambda w, a: Call(),
    "unbindDevice": lambda w, a: Call(
        json={"staff_id": a.staff_id, "device_id": "device-member_a1"}
    ),
    # households
    "listHouseholds": lambda w, a: Call(params={"limit": 200}),
    "getHousehold": lambda w, a: Call(),
    "registerHousehold": lambda w, a: Call(json=household_body(w.grid_a1)),
    "updateHousehold": lambda w, a: Call(
        json={"base_version": a.household_version, "changes": [{"path": "notes", "value": "越权"}]}
    ),
    "resolveHouseholdConflict": lambda w, a: Call(json={"value": "越权"}),
    "addHouseholdPerson": lambda w, a: Call(json=person("越权添人", "其他")),
    "removeHouseholdPerson": lambda w, a: Call(json={"reason": "other"}),
    "tagHouseholdPerson": lambda w, a: Call(json={"tag": "dibao"}),
    "untagHouseholdPerson": lambda w, a: Call(json={"tag": "party_member"}),
    "moveHousehold": lambda w, a: Call(json={"grid_id": str(w.grid_b1)}),
    "dissolveHousehold": lambda w, a: Call(json={"reason": "越权销户"}),
    "importLedger": lambda w, a: Call(files=_ledger(w)),
    # photos: A1's photo is read or copied by B1; an upload of the same bytes is B1's own
    "getMedia": lambda w, a: Call(),
    "createPublicMediaCopy": lambda w, a: Call(),
    "uploadMedia": lambda w, a: Call(
        files={"file": ("x.png", a.photo, "image/png")},
        data={"sha256": a.sha256},
    ),
    # visits, mediations, awards and points of A1
    "recordVisit": lambda w, a: Call(
        json={
            "visit_id": str(uuid.uuid4()),
            "household_id": a.household_id,
            "purpose": "routine",
            "method": "in_person",
            "visited_at": "2026-03-01T09:00:00+08:00",
        }
    ),
    "listVisits": lambda w, a: Call(params={"limit": 200}),
    "getVisit": lambda w, a: Call(),
    "amendVisit": lambda w, a: Call(json={"notes": "越权"}),
    "voidVisit": lambda w, a: Call(json={"reason": "越权"}),
    "openMediation": lambda w, a: Call(
        json={
            "mediation_id": str(uuid.uuid4()),
            "parties": [
                {"kind": "household", "ref_id": a.household_id, "role": "applicant"},
                {"kind": "person", "ref_id": a.spouse_id, "role": "respondent"},
            ],
            "mediators": [{"name": "越权", "kind": "grid_member", "staff_id": a.staff_id}],
        }
    ),
    "listMediations": lambda w, a: Call(params={"limit": 200}),
    "getMediation": lambda w, a: Call(),
    "recordMediationSession": lambda w, a: Call(
        json={
            "session_id": str(uuid.uuid4()),
            "held_at": "2026-03-02T09:00:00+08:00",
            "notes": "越权",
            "attendees": [a.household_id],
        }
    ),
    "concludeMediation": lambda w, a: Call(json={"outcome": "failed"}),
    "recordMediationFollowUp": lambda w, a: Call(json={"visit_id": a.visit_id, "result": "越权"}),
    "proposeAward": lambda w, a: Call(
        json={
            "rule_code": a.rule_code,
            "source_event_id": str(uuid.uuid4()),
            "owner_kind": "household",
            "owner_id": a.household_id,
            "reason": "越权",
        }
    ),
    "listAwards": lambda w, a: Call(params={"limit": 200}),
    "getAward": lambda w, a: Call(),
    "approveAward": lambda w, a: Call(),
    "rejectAward": lambda w, a: Call(json={"reason": "越权"}),
    "revokeAward": lambda w, a: Call(json={"reason": "越权"}),
    "getPointsAccount": lambda w, a: Call(),
    "redeemPoints": lambda w, a: Call(
        json={
            "redemption_id": str(uuid.uuid4()),
            "items": [{"sku": "x", "name": "越权", "unit_points": 1, "quantity": 1}],
        }
    ),
    "cancelRedemption": lambda w, a: Call(json={"reason": "越权"}),
    # reference data: only admins change it (member B1 is refused by role); anyone reads it
    "defineCaseCategory": lambda w, a: Call(json={"code": "scope_probe", "label": "越权"}),
    "relabelCaseCategory": lambda w, a: Call(json={"label": "越权"}),
    "retireCaseCategory": lambda w, a: Call(json={"reason": "越权"}),
    "replaceSlaRules": lambda w, a: Call(json={"rules": []}),
    "getWorkingCalendar": lambda w, a: Call(),
    "setCalendarYear": lambda w, a: Call(json={"holidays": []}),
    "clearCalendarYear": lambda w, a: Call(),
    "definePointRule": lambda w, a: Call(
        json={
            "code": "scope_probe",
            "trigger": "visit_recorded",
            "target": "staff",
            "points": 1,
            "label": "越权",
        }
    ),
    "revisePointRule": lambda w, a: Call(json={"points": 1, "label": "越权"}),
    "retirePointRule": lambda w, a: Call(json={"reason": "越权"}),
    # cases of A1: B1 may neither report into A1 nor read or move A1's case
    "reportCase": lambda w, a: Call(
        json={
            "id": str(uuid.uuid4()),
            "category": "hazard",
            "title": "越权",
            "description": "越权",
            "location": "越权",
            "unit_id": a.unit_id,
        }
    ),
    "getCase": lambda w, a: Call(),
    "acceptCase": lambda w, a: Call(json={}),
    "rejectCase": lambda w, a: Call(json={"reason": "越权"}),
    "registerCase": lambda w, a: Call(json={}),
    "dispatchCase": lambda w, a: Call(json={"staff_id": str(w.staff["member_b1"])}),
    "signForCase": lambda w, a: Call(json={}),
    "returnCase": lambda w, a: Call(json={"reason": "越权"}),
    "handleCase": lambda w, a: Call(json={"result": "越权"}),
    "verifyCase": lambda w, a: Call(json={}),
    "failCaseVerification": lambda w, a: Call(json={"reason": "越权"}),
    "closeCase": lambda w, a: Call(json={}),
    "reopenCase": lambda w, a: Call(json={"reason": "越权"}),
    "reportCaseUp": lambda w, a: Call(json={"reason": "越权"}),
    "superviseCase": lambda w, a: Call(json={"instruction": "越权"}),
    "requestCaseDelay": lambda w, a: Call(json={"days": 1, "reason": "越权"}),
    "decideCaseDelay": lambda w, a: Call(json={"approve": True}),
    "suspendCase": lambda w, a: Call(json={"reason": "越权"}),
    "resumeCase": lambda w, a: Call(json={}),
    "recordCaseSatisfaction": lambda w, a: Call(json={"rating": 1}),
    "listCaseBoard": lambda w, a: Call(params={"limit": 200}),
    "listOverdueCases": lambda w, a: Call(params={"limit": 200}),
    "listEscalatedCases": lambda w, a: Call(params={"limit": 200}),
    # the evidence log's stored entries: auditor role only
    "getLogEntry": lambda w, a: Call(),
    # profiles, coverage, rankings and exports: B1 asks for A1's member or unit
    "getMemberProfile": lambda w, a: Call(params={"period": "quarter"}),
    "listGridCoverage": lambda w, a: Call(params={"limit": 200}),
    "rankGrids": lambda w, a: Call(params={"limit": 200}),
    "rankMembers": lambda w, a: Call(params={"limit": 200}),
    "createExport": lambda w, a: Call(
        json={"what": "grid_coverage", "filters": {"unit_id": a.unit_id}, "reason": "越权"}
    ),
    # notice board: B1 may not compose, review, publish or withdraw village A's editions, nor
    # read them (village A is outside a grid's scope); the public board is for villages and
    # towns only, so grid A1's unit id answers 404
    "composeNoticeBoardEdition": lambda w, a: Call(json={"unit_id": str(w.village_a)}),
    "listNoticeBoardEditions": lambda w, a: Call(),
    "getNoticeBoardEdition": lambda w, a: Call(),
    "approveNoticeBoardEdition": lambda w, a: Call(),
    "publishNoticeBoardEdition": lambda w, a: Call(),
    "withdrawNoticeBoardEdition": lambda w, a: Call(json={"reason": "越权"}),
    "getPublicNoticeBoard": lambda w, a: Call(),
    "getPublicNoticeBoardPage": lambda w, a: Call(),
    # assessments: B1 may neither score, rank, export nor sign off A1; schemes are admin-only
    "defineAssessmentScheme": lambda w, a: Call(json=_SCHEME_PROBE),
    "reviseAssessmentScheme": lambda w, a: Call(json={"label": "越权", **_SCHEME_PROBE_LINES}),
    "retireAssessmentScheme": lambda w, a: Call(json={"reason": "越权"}),
    "rankAssessments": lambda w, a: Call(params={"unit_id": a.unit_id, "level": "member"}),
    "exportAssessmentRankings": lambda w, a: Call(
        params={"unit_id": a.unit_id, "level": "member", "reason": "越权"}
    ),
    "explainUnitScore": lambda w, a: Call(),
    "explainMemberScore": lambda w, a: Call(),
    "signOffAssessment": lambda w, a: Call(json={}),
    "getAssessmentSignOff": lambda w, a: Call(),
    # evidence bundles: auditors only; B1 asks for A1's case and is refused by role
    "exportEvidenceBundle": lambda w, a: Call(json={"case_id": a.case_id, "reason": "越权"}),
    # offline sync: B1 pushes a visit to A1's household from its own phone (answered per item,
    # rejected 40301) and pulls its own buckets; the review queue and device status hold A1's
    # held push and phone; deciding A1's pushed visit is refused by role
    "syncPush": lambda w, a: Call(json=_sync_push_body("device-member_b1", a.household_id)),
    "syncPull": lambda w, a: Call(json={"protocol": 1, "device_id": "device-member_b1"}),
    "listSyncReview": lambda w, a: Call(params={"status": "deferred", "limit": 200}),
    "acceptSyncReview": lambda w, a: Call(),
    "rejectSyncReview": lambda w, a: Call(json={"reason": "越权"}),
    "listSyncDevices": lambda w, a: Call(params={"limit": 200}),
}


def _sync_push_body(device_id: str, household_id: str, *, notes: str | None = None) -> Any:
    now = datetime.now(UTC).isoformat()
    payload = {"household_id": household_id, "purpose": "routine", "method": "in_person",
               "visited_at": now, "findings": {"notes": notes}}  # fmt: skip
    event = {"event_id": str(uuid.uuid4()), "device_seq": 1, "type": "visit.recorded",
             "captured_at": now, "payload": payload}  # fmt: skip
    return {"protocol": 1, "device_id": device_id, "device_clock": now, "events": [event]}


async def _a1_held_push(client: Client, world: World) -> None:
    """Member A1's phone pushes a visit to a household not registered yet: held (deferred) in
    A1's scope, with A1's words in its notes; the push also puts A1's phone in device status."""
    body = _sync_push_body("device-member_a1", str(uuid.uuid4()), notes="欧阳秘户待登记")
    pushed = await client.post("/v1/sync/push", headers=world.headers["member_a1"], json=body)
    assert pushed.json()["results"][0]["status"] == "deferred", pushed.text


# Lists answer (with nothing of A1); "own" acts on the caller's own things; the rest are "act".
KIND: dict[str, Kind] = {
    "listGridUnits": "list",
    "listStaff": "list",
    "listHouseholds": "list",
    "uploadMedia": "own",
    "listVisits": "list",
    "listMediations": "list",
    "listAwards": "list",
    "getWorkingCalendar": "own",
    "listCaseBoard": "list",
    "listOverdueCases": "list",
    "listEscalatedCases": "list",
    "listGridCoverage": "list",
    "rankGrids": "list",
    "rankMembers": "list",
    "syncPush": "own",
    "syncPull": "own",
    "listSyncReview": "list",
    "listSyncDevices": "list",
}
PATH_PARAMS = frozenset(
    {"unit_id", "staff_id", "household_id", "person_id", "conflict_id", "sha256"}
)
PATH_PARAMS |= {"visit_id", "mediation_id", "award_id", "owner_kind", "owner_id"}
PATH_PARAMS |= {"redemption_id"}
PATH_PARAMS |= {"case_id"}
PATH_PARAMS |= {"code", "year"}  # reference data: system-wide, never A1's
PATH_PARAMS |= {"position"}  # evidence log entries: auditor role only
PATH_PARAMS |= {"edition_id"}
PATH_PARAMS |= {"period"}  # an assessment period id, e.g. 2026-Q4
PATH_PARAMS |= {"event_id"}  # a pushed event (sync review): A1's visit id


def operations(app: Litestar) -> dict[str, tuple[str, str, list[str]]]:
    """operation_id -> (method, path template, path parameter names), from the schema."""
    schema = app.openapi_schema.to_schema()
    found: dict[str, tuple[str, str, list[str]]] = {}
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                names = [p["name"] for p in op.get("parameters", []) if p.get("in") == "path"]
                found[op["operationId"]] = (method.upper(), path, names)
    return found


@pytest.fixture(scope="module")
async def a1(client: Client, container: Container, world: World) -> A1:
    """A household in A1 with a recorded conflict, and a photo member A1 took."""
    member = world.headers["member_a1"]
    number = unique_no("A1SECRET")
    created = await register(
        client,
        member,
        household_body(
            world.grid_a1,
            household_no=number,
            address="甲村秘密巷7号",
            phone="13512345678",
            persons=[
                person("欧阳秘户", "户主", phone="13687654321"),
                person("司马秘妻", "配偶", gender="female", tags=["party_member", "tekun"]),
            ],
        ),
    )
    hid = created["id"]
    for value in ("砖混", "木结构"):  # the same field twice from base 1: a conflict
        response = await client.post(
            f"/v1/households/{hid}/updates",
            headers=member if value == "砖混" else world.headers["head_a"],
            json={"base_version": 1, "changes": [{"path": "house_type", "value": value}]},
        )
        assert response.status_code == 200, response.text
    after = response.json()
    (conflict_id,) = after["conflict_ids"]
    household = after["household"]
    persons = {p["relation"]: p["person_id"] for p in household["persons"]}
    photo = _png()
    sha256 = hashlib.sha256(photo).hexdigest()
    uploaded = await client.post(
        "/v1/media",
        headers=member,
        files={"file": ("a1.png", photo, "image/png")},
        data={"sha256": sha256},
    )
    assert uploaded.status_code == 201, uploaded.text
    field_work = await _field_work(client, world, hid)
    await _a1_held_push(client, world)
    return A1(
        unit_id=str(world.grid_a1),
        staff_id=str(world.staff["member_a1"]),
        household_id=hid,
        household_version=household["version"],
        head_id=persons["户主"],
        spouse_id=persons["配偶"],
        conflict_id=conflict_id,
        secrets=[
            number,
            "欧阳秘户",
            "司马秘妻",
            "甲村秘密巷",
            "13512345678",
            "135****5678",
            "136****4321",
            world.codes["grid_a1"],
            "甲村第一网格",
            "测试member_a1",
            "tekun",
        ],
        photo=photo,
        sha256=sha256,
        **field_work,
        case_id=await _a1_case(client, container, world),
        edition_id=await _a1_edition(client, world),
    )


async def _a1_edition(client: Client, world: World) -> str:
    """The supervisor composes a draft board of village A: it lists grid A1 and member A1."""
    body = {"unit_id": str(world.village_a), "notes": ["甲村第一网格本期公示"]}
    composed = await client.post(
        "/v1/notice-board/editions", headers=world.headers["supervisor"], json=body
    )
    assert composed.status_code == 201, composed.text
    edition_id: str = composed.json()["id"]
    return edition_id


async def _a1_case(client: Client, container: Container, world: World) -> str:
    """Member A1 reports a case on a March morning; by today's clock it is overdue, and the
    scheduler escalates it to village A (so the overdue and escalated lists show it)."""
    await ensure_default_categories(container)
    case = {
        "id": str(uuid.uuid4()), "category": "hazard", "title": "甲村秘密巷电线老化",
        "description": "欧阳秘户门前电线老化", "location": "甲村秘密巷7号",
    }  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        Clock().install(patch)  # the event's server time: Monday 2 March 2026, 08:30
        reported = await client.post("/v1/cases", headers=world.headers["member_a1"], json=case)
    assert reported.status_code == 201, reported.text
    await run_once(container, now=datetime.now(UTC))
    return case["id"]


async def _field_work(client: Client, world: World, hid: str) -> dict[str, str]:
    """Member A1 visits the household, opens a mediation; the head approves an award."""
    member, head, admin = (world.headers[k] for k in ("member_a1", "head_a", "admin"))
    code = f"a1-{unique_no('r').lower()}"
    rule = {"code": code, "trigger": "visit_recorded", "target": "household", "points": 5}
    defined = await client.post(
        "/v1/reference/point-rules",
        headers=admin,
        json={**rule, "label": "走访积分", "effective_from": "2020-01-01"},
    )
    assert defined.status_code == 201, defined.text
    visit = {
        "visit_id": str(uuid.uuid4()),
        "household_id": hid,
        "purpose": "routine",
        "method": "in_person",
        "visited_at": "2026-03-01T09:00:00+08:00",
        "findings": {"notes": "欧阳秘户家水管漏水"},
    }
    assert (await client.post("/v1/visits", headers=member, json=visit)).status_code == 201
    household = (await client.get(f"/v1/households/{hid}", headers=member)).json()
    (spouse,) = [p["person_id"] for p in household["persons"] if p["relation"] == "配偶"]
    mediation_id = str(uuid.uuid4())
    mediation = {
        "mediation_id": mediation_id,
        "parties": [
            {"kind": "household", "ref_id": hid, "role": "applicant"},
            {"kind": "person", "ref_id": spouse, "role": "respondent"},
        ],
        "mediators": [{"name": "欧阳秘户的邻居", "kind": "wulao"}],
    }
    opened = await client.post("/v1/mediations", headers=member, json=mediation)
    assert opened.status_code == 201, opened.text
    proposal = {
        "rule_code": code,
        "source_event_id": visit["visit_id"],
        "owner_kind": "household",
        "owner_id": hid,
        "reason": "欧阳秘户配合走访",
    }
    award = await client.post("/v1/awards", headers=member, json=proposal)
    assert award.status_code == 201, award.text
    approved = await client.post(f"/v1/awards/{award.json()['id']}/approve", headers=head)
    assert approved.status_code == 200, approved.text
    redemption_id = str(uuid.uuid4())
    redemption = {
        "redemption_id": redemption_id,
        "items": [{"sku": "soap", "name": "肥皂", "unit_points": 1, "quantity": 1}],
    }
    redeemed = await client.post(
        f"/v1/points-accounts/household/{hid}/redemptions", headers=member, json=redemption
    )
    assert redeemed.status_code == 201, redeemed.text
    return {
        "visit_id": visit["visit_id"],
        "mediation_id": mediation_id,
        "award_id": award.json()["id"],
        "redemption_id": redemption_id,
        "rule_code": code,
    }


async def call(
    client: Client, app: Litestar, operation_id: str, headers: dict[str, str], world: World, a: A1
) -> httpx.Response:
    method, template, names = operations(app)[operation_id]
    values = a.path_values()
    assert set(values) == PATH_PARAMS
    url = template.format(**{name: values[name] for name in names})
    spec = TABLE[operation_id](world, a)
    return await client.request(
        method,
        url,
        headers=headers,
        params=spec.params,
        json=spec.json,
        files=spec.files,
        data=spec.data,
    )


def leaked(response: httpx.Response, a: A1) -> list[str]:
    return [secret for secret in a.secrets if secret in response.text]


def test_the_table_covers_every_operation_of_the_schema(app: Litestar) -> None:
    # given the operations the app serves
    served = operations(app)

    # then every one that is not about logging in or health has a scope case, and no case
    # names an operation the app no longer serves
    assert set(served) - EXEMPT == set(TABLE)
    # and every path parameter is one the matrix knows how to fill with an A1 resource
    unknown = {op: names for op, (_, _, names) in served.items() if set(names) - PATH_PARAMS}
    assert unknown == {}
    # and every collection read (GET without a path parameter) is checked as a list
    collections = {op for op, (m, _, names) in served.items() if m == "GET" and not names}
    assert collections - EXEMPT == {op for op, kind in KIND.items() if kind == "list"}


@pytest.mark.parametrize("operation_id", sorted(TABLE))
async def test_member_b1_gets_nothing_of_grid_a1(
    client: Client, app: Litestar, world: World, a1: A1, operation_id: str
) -> None:
    # given the grid member of B1 and one operation aimed at A1's resources
    kind = KIND.get(operation_id, "act")

    # when member B1 calls it
    response = await call(client, app, operation_id, world.headers["member_b1"], world, a1)

    # then an action is refused and a list answers; either way nothing of A1 is in the body
    if kind == "act":
        assert response.status_code in (403, 404), response.text
        assert response.json()["errcode"] in (40300, 40301, 40400), response.text
    else:
        assert response.status_code < 300, response.text
    assert leaked(response, a1) == []


@pytest.mark.parametrize("operation_id", sorted(op for op, kind in KIND.items() if kind == "list"))
async def test_lists_do_show_a1_to_an_in_scope_caller(
    client: Client, app: Litestar, world: World, a1: A1, operation_id: str
) -> None:
    # given a list operation, when the supervisor (scope: the town) calls it
    response = await call(client, app, operation_id, world.headers["supervisor"], world, a1)

    # then A1 is visible to them, so the check above would have caught a leak
    assert response.status_code == 200, response.text
    assert leaked(response, a1) != []


async def test_nothing_of_a1_changed_after_the_matrix(client: Client, world: World, a1: A1) -> None:
    # given the matrix has run (this test comes after it in the module)
    admin = world.headers["admin"]

    # then A1's household, staff member and grid are as they were
    household = (await client.get(f"/v1/households/{a1.household_id}", headers=admin)).json()
    assert (household["version"], household["status"], household["grid_id"]) == (
        a1.household_version,
        "active",
        a1.unit_id,
    )
    assert [c["resolved"] for c in household["conflicts"]] == [False]
    staff = (await client.get(f"/v1/staff/{a1.staff_id}", headers=admin)).json()
    assert (staff["status"], staff["role"], staff["scope_unit_id"]) == (
        "active",
        "grid_member",
        a1.unit_id,
    )
    unit = (await client.get(f"/v1/grid-units/{a1.unit_id}", headers=admin)).json()
    assert (unit["name"], unit["status"], unit["parent_id"]) == (
        "甲村第一网格",
        "active",
        str(world.village_a),
    )
    me = await client.get("/v1/me", headers=world.headers["member_a1"])
    assert me.status_code == 200, me.text
    # and A1's field work too: the visit, the mediation, the award and the points
    visit = (await client.get(f"/v1/visits/{a1.visit_id}", headers=admin)).json()
    assert (visit["voided"], visit["amendments"]) == (False, 0)
    mediation = (await client.get(f"/v1/mediations/{a1.mediation_id}", headers=admin)).json()
    assert (mediation["state"], mediation["sessions"]) == ("open", [])
    award = (await client.get(f"/v1/awards/{a1.award_id}", headers=admin)).json()
    assert award["state"] == "approved"
    points = f"/v1/points-accounts/household/{a1.household_id}"
    account = (await client.get(points, headers=admin)).json()
    assert (account["balance"], len(account["history"])) == (4, 2)
