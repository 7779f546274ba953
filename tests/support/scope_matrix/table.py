"""How each operation of the API is called against one resource set, and what kind it is.

The table names every operation that takes a grid unit, staff member, household or something
filed under them; path values and bodies come from the :class:`ResourceSet` aimed at, and
``who`` (the caller's world key) names the caller's own phone where an operation acts on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from backend.ledger_import import write_ledger_csv
from tests.support.households import household_body, person, unique_no
from tests.support.scope_matrix.sets import ResourceSet
from tests.support.world import World

__all__ = [
    "EXEMPT",
    "FILTERS",
    "KIND",
    "PATH_PARAMS",
    "TABLE",
    "Call",
    "Kind",
    "sync_push_body",
]

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
class Call:
    """How one operation is called against a set (path values come from :class:`ResourceSet`)."""

    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    files: dict[str, Any] | None = None
    data: dict[str, str] | None = None


_SCHEME_PROBE_LINES: dict[str, Any] = {
    "indicators": [{"indicator": "visits", "weight": 100, "full_at": 1}]
}
_SCHEME_PROBE: dict[str, Any] = {"code": "scope-probe", "label": "越权", **_SCHEME_PROBE_LINES}


def _ledger(a: ResourceSet) -> dict[str, Any]:
    row = {
        "household_no": unique_no("A1IMP"),
        "grid_code": a.grid_code,
        "address": "越权导入巷8号",
        "name": "越权导入",
        "relation": "户主",
    }
    return {"file": ("ledger.csv", write_ledger_csv([row]), "text/csv")}


TABLE: dict[str, Callable[[World, ResourceSet, str], Call]] = {
    # grid tree
    "listGridUnits": lambda w, a, who: Call(),
    "getGridUnit": lambda w, a, who: Call(),
    "createGridUnit": lambda w, a, who: Call(
        json={
            "code": a.grid_code + "01",
            "name": "越权微网格",
            "level": 4,
            "parent_id": a.unit_id,
        }
    ),
    "renameGridUnit": lambda w, a, who: Call(json={"name": "越权改名"}),
    "moveGridUnit": lambda w, a, who: Call(json={"new_parent_id": a.elsewhere_village_id}),
    "retireGridUnit": lambda w, a, who: Call(json={"reason": "越权撤销"}),
    # staff
    "listStaff": lambda w, a, who: Call(params={"include_relieved": "true"}),
    "getStaff": lambda w, a, who: Call(),
    "listStaffAssignments": lambda w, a, who: Call(),
    "appointStaff": lambda w, a, who: Call(
        json={
            "name": "越权任命",
            "work_phone": "13912345678",
            "role": "grid_member",
            "scope_unit_id": a.unit_id,
        }
    ),
    "reassignStaff": lambda w, a, who: Call(
        json={"role": "grid_member", "scope_unit_id": a.elsewhere_grid_id}
    ),
    "relieveStaff": lambda w, a, who: Call(json={"reason": "越权免职"}),
    "issueBindingCode": lambda w, a, who: Call(),
    "unbindDevice": lambda w, a, who: Call(json={"staff_id": a.staff_id, "device_id": a.device_id}),
    # households
    "listHouseholds": lambda w, a, who: Call(params={"limit": 200}),
    "getHousehold": lambda w, a, who: Call(),
    "registerHousehold": lambda w, a, who: Call(json=household_body(a.unit_id)),
    "updateHousehold": lambda w, a, who: Call(
        json={"base_version": a.household_version, "changes": [{"path": "notes", "value": "越权"}]}
    ),
    "resolveHouseholdConflict": lambda w, a, who: Call(json={"value": "越权"}),
    "addHouseholdPerson": lambda w, a, who: Call(json=person("越权添人", "其他")),
    "removeHouseholdPerson": lambda w, a, who: Call(json={"reason": "other"}),
    "tagHouseholdPerson": lambda w, a, who: Call(json={"tag": "dibao"}),
    "untagHouseholdPerson": lambda w, a, who: Call(json={"tag": "party_member"}),
    "moveHousehold": lambda w, a, who: Call(json={"grid_id": a.elsewhere_grid_id}),
    "dissolveHousehold": lambda w, a, who: Call(json={"reason": "越权销户"}),
    "importLedger": lambda w, a, who: Call(files=_ledger(a)),
    # photos: A1's photo is read or copied by B1; an upload of the same bytes is B1's own
    "getMedia": lambda w, a, who: Call(),
    "createPublicMediaCopy": lambda w, a, who: Call(),
    "uploadMedia": lambda w, a, who: Call(
        files={"file": ("x.png", a.photo, "image/png")},
        data={"sha256": a.sha256},
    ),
    # visits, mediations, awards and points of A1
    "recordVisit": lambda w, a, who: Call(
        json={
            "visit_id": str(uuid.uuid4()),
            "household_id": a.household_id,
            "purpose": "routine",
            "method": "in_person",
            "visited_at": "2026-03-01T09:00:00+08:00",
        }
    ),
    "listVisits": lambda w, a, who: Call(params={"limit": 200}),
    "getVisit": lambda w, a, who: Call(),
    "amendVisit": lambda w, a, who: Call(json={"notes": "越权"}),
    "voidVisit": lambda w, a, who: Call(json={"reason": "越权"}),
    "openMediation": lambda w, a, who: Call(
        json={
            "mediation_id": str(uuid.uuid4()),
            "parties": [
                {"kind": "household", "ref_id": a.household_id, "role": "applicant"},
                {"kind": "person", "ref_id": a.spouse_id, "role": "respondent"},
            ],
            "mediators": [{"name": "越权", "kind": "grid_member", "staff_id": a.staff_id}],
        }
    ),
    "listMediations": lambda w, a, who: Call(params={"limit": 200}),
    "getMediation": lambda w, a, who: Call(),
    "recordMediationSession": lambda w, a, who: Call(
        json={
            "session_id": str(uuid.uuid4()),
            "held_at": "2026-03-02T09:00:00+08:00",
            "notes": "越权",
            "attendees": [a.household_id],
        }
    ),
    "concludeMediation": lambda w, a, who: Call(json={"outcome": "failed"}),
    "recordMediationFollowUp": lambda w, a, who: Call(
        json={"visit_id": a.visit_id, "result": "越权"}
    ),
    "proposeAward": lambda w, a, who: Call(
        json={
            "rule_code": a.rule_code,
            "source_event_id": a.visit_id,
            "owner_kind": "household",
            "owner_id": a.household_id,
            "reason": "越权",
        }
    ),
    "listAwards": lambda w, a, who: Call(params={"limit": 200}),
    "getAward": lambda w, a, who: Call(),
    "approveAward": lambda w, a, who: Call(),
    "rejectAward": lambda w, a, who: Call(json={"reason": "越权"}),
    "revokeAward": lambda w, a, who: Call(json={"reason": "越权"}),
    "getPointsAccount": lambda w, a, who: Call(),
    "redeemPoints": lambda w, a, who: Call(
        json={
            "redemption_id": str(uuid.uuid4()),
            "items": [{"sku": "x", "name": "越权", "unit_points": 1, "quantity": 1}],
        }
    ),
    "cancelRedemption": lambda w, a, who: Call(json={"reason": "越权"}),
    # reference data: only admins change it (member B1 is refused by role); anyone reads it
    "defineCaseCategory": lambda w, a, who: Call(json={"code": "scope_probe", "label": "越权"}),
    "relabelCaseCategory": lambda w, a, who: Call(json={"label": "越权"}),
    "retireCaseCategory": lambda w, a, who: Call(json={"reason": "越权"}),
    "replaceSlaRules": lambda w, a, who: Call(json={"rules": []}),
    "getWorkingCalendar": lambda w, a, who: Call(),
    "setCalendarYear": lambda w, a, who: Call(json={"holidays": []}),
    "clearCalendarYear": lambda w, a, who: Call(),
    "definePointRule": lambda w, a, who: Call(
        json={
            "code": "scope_probe",
            "trigger": "visit_recorded",
            "target": "staff",
            "points": 1,
            "label": "越权",
        }
    ),
    "revisePointRule": lambda w, a, who: Call(json={"points": 1, "label": "越权"}),
    "retirePointRule": lambda w, a, who: Call(json={"reason": "越权"}),
    # cases of A1: B1 may neither report into A1 nor read or move A1's case
    "reportCase": lambda w, a, who: Call(
        json={
            "id": str(uuid.uuid4()),
            "category": "hazard",
            "title": "越权",
            "description": "越权",
            "location": "越权",
            "unit_id": a.unit_id,
        }
    ),
    "getCase": lambda w, a, who: Call(),
    "acceptCase": lambda w, a, who: Call(json={}),
    "rejectCase": lambda w, a, who: Call(json={"reason": "越权"}),
    "registerCase": lambda w, a, who: Call(json={}),
    "dispatchCase": lambda w, a, who: Call(json={"staff_id": a.staff_id}),
    "signForCase": lambda w, a, who: Call(json={}),
    "returnCase": lambda w, a, who: Call(json={"reason": "越权"}),
    "handleCase": lambda w, a, who: Call(json={"result": "越权"}),
    "verifyCase": lambda w, a, who: Call(json={}),
    "failCaseVerification": lambda w, a, who: Call(json={"reason": "越权"}),
    "closeCase": lambda w, a, who: Call(json={}),
    "reopenCase": lambda w, a, who: Call(json={"reason": "越权"}),
    "reportCaseUp": lambda w, a, who: Call(json={"reason": "越权"}),
    "superviseCase": lambda w, a, who: Call(json={"instruction": "越权"}),
    "requestCaseDelay": lambda w, a, who: Call(json={"days": 1, "reason": "越权"}),
    "decideCaseDelay": lambda w, a, who: Call(json={"approve": True}),
    "suspendCase": lambda w, a, who: Call(json={"reason": "越权"}),
    "resumeCase": lambda w, a, who: Call(json={}),
    "recordCaseSatisfaction": lambda w, a, who: Call(json={"rating": 1}),
    "listCaseBoard": lambda w, a, who: Call(params={"limit": 200}),
    "listOverdueCases": lambda w, a, who: Call(params={"limit": 200}),
    "listEscalatedCases": lambda w, a, who: Call(params={"limit": 200}),
    # the evidence log's stored entries: auditor role only
    "getLogEntry": lambda w, a, who: Call(),
    # profiles, coverage, rankings and exports: B1 asks for A1's member or unit
    "getMemberProfile": lambda w, a, who: Call(params={"period": "quarter"}),
    "listGridCoverage": lambda w, a, who: Call(params={"limit": 200}),
    "rankGrids": lambda w, a, who: Call(params={"limit": 200}),
    "rankMembers": lambda w, a, who: Call(params={"limit": 200}),
    "createExport": lambda w, a, who: Call(
        json={"what": "grid_coverage", "filters": {"unit_id": a.unit_id}, "reason": "越权"}
    ),
    # notice board: B1 may not compose, review, publish or withdraw village A's editions, nor
    # read them (village A is outside a grid's scope); the public board is for villages and
    # towns only, so grid A1's unit id answers 404
    "composeNoticeBoardEdition": lambda w, a, who: Call(json={"unit_id": a.village_id}),
    "listNoticeBoardEditions": lambda w, a, who: Call(),
    "getNoticeBoardEdition": lambda w, a, who: Call(),
    "approveNoticeBoardEdition": lambda w, a, who: Call(),
    "publishNoticeBoardEdition": lambda w, a, who: Call(),
    "withdrawNoticeBoardEdition": lambda w, a, who: Call(json={"reason": "越权"}),
    "getPublicNoticeBoard": lambda w, a, who: Call(),
    "getPublicNoticeBoardPage": lambda w, a, who: Call(),
    # assessments: B1 may neither score, rank, export nor sign off A1; schemes are admin-only
    "defineAssessmentScheme": lambda w, a, who: Call(json=_SCHEME_PROBE),
    "reviseAssessmentScheme": lambda w, a, who: Call(json={"label": "越权", **_SCHEME_PROBE_LINES}),
    "retireAssessmentScheme": lambda w, a, who: Call(json={"reason": "越权"}),
    "rankAssessments": lambda w, a, who: Call(
        params={"unit_id": a.unit_id, "level": "member", "scheme": a.scheme}
    ),
    "exportAssessmentRankings": lambda w, a, who: Call(
        params={"unit_id": a.unit_id, "level": "member", "reason": "越权", "scheme": a.scheme}
    ),
    "explainUnitScore": lambda w, a, who: Call(params={"scheme": a.scheme}),
    "explainMemberScore": lambda w, a, who: Call(params={"scheme": a.scheme}),
    "signOffAssessment": lambda w, a, who: Call(json={"scheme": a.scheme}),
    "getAssessmentSignOff": lambda w, a, who: Call(),
    # evidence bundles: auditors only; B1 asks for A1's case and is refused by role
    "exportEvidenceBundle": lambda w, a, who: Call(json={"case_id": a.case_id, "reason": "越权"}),
    # offline sync: B1 pushes a visit to A1's household from its own phone (answered per item,
    # rejected 40301) and pulls its own buckets; the review queue and device status hold A1's
    # held push and phone; deciding A1's pushed visit is refused by role
    "syncPush": lambda w, a, who: Call(json=sync_push_body(f"device-{who}", a.household_id)),
    "syncPull": lambda w, a, who: Call(json={"protocol": 1, "device_id": f"device-{who}"}),
    "listSyncReview": lambda w, a, who: Call(params={"status": "deferred", "limit": 200}),
    "acceptSyncReview": lambda w, a, who: Call(),
    "rejectSyncReview": lambda w, a, who: Call(json={"reason": "越权"}),
    "listSyncDevices": lambda w, a, who: Call(params={"limit": 200}),
}


def sync_push_body(device_id: str, household_id: str, *, notes: str | None = None) -> Any:
    now = datetime.now(UTC).isoformat()
    payload = {"household_id": household_id, "purpose": "routine", "method": "in_person",
               "visited_at": now, "findings": {"notes": notes}}  # fmt: skip
    event = {"event_id": str(uuid.uuid4()), "device_seq": 1, "type": "visit.recorded",
             "captured_at": now, "payload": payload}  # fmt: skip
    return {"protocol": 1, "device_id": device_id, "device_clock": now, "events": [event]}


# Lists answer (with nothing out of scope); "own" acts on the caller's own things; the
# rest are "act".
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

# Lists again, filtered by the set's own grid, household, staff member or name: a filter
# naming something out of scope must not open a way around the caller's scope.
FILTERS: dict[str, list[Callable[[ResourceSet], dict[str, Any]]]] = {
    "listHouseholds": [
        lambda a: {"grid_id": a.unit_id},
        lambda a: {"q": a.head_name},
        lambda a: {"tag": "tekun"},
    ],
    "listVisits": [
        lambda a: {"grid_id": a.unit_id},
        lambda a: {"household_id": a.household_id},
        lambda a: {"visitor_id": a.staff_id},
    ],
    "listAwards": [lambda a: {"owner_kind": "household", "owner_id": a.household_id}],
    "listGridCoverage": [lambda a: {"unit_id": a.unit_id}],
    "rankGrids": [lambda a: {"unit_id": a.unit_id}],
    "rankMembers": [lambda a: {"unit_id": a.unit_id}],
    "listSyncDevices": [lambda a: {"staff_id": a.staff_id}],
    "listCaseBoard": [lambda a: {"holder": a.staff_id}],  # the staff member holding cases
}
