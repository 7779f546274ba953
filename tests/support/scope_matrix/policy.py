"""Who may call what inside their own scope, read off the services' role checks.

Each operation maps to the roles the service lets through (backend/services/*: the
``require_role`` calls and their role tuples); every other role must be refused with a 403.
Written out here rather than imported, so a service that widens its roles fails the matrix.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.support.scope_matrix.sets import ResourceSet
from tests.support.scope_matrix.table import Call
from tests.support.world import World

__all__ = [
    "GLOBAL",
    "PERMITTED",
    "ROLE_OF",
    "SHOWS",
    "STATEFUL",
    "UNCALLED",
    "UNSCOPED",
    "callers",
    "in_scope_order",
    "permitted",
]

ROLE_OF = {
    "admin": "admin",
    "supervisor": "supervisor",
    "auditor": "auditor",
    "head_a": "grid_head",
    "member_a1": "grid_member",
    "member_b1": "grid_member",
    "mediator_a": "mediator",
}

ADM = frozenset({"admin"})
AUD = frozenset({"auditor"})
SUP = ADM | {"supervisor"}  # notice-board editors, public copies, case supervision
MANAGERS = SUP | {"grid_head"}  # deciders of awards, cases, conflicts, held pushes
EDITORS = MANAGERS | {"grid_member"}  # households, reports, awards proposed, points cashed
FIELD = EDITORS | {"mediator"}  # visits and mediations
READERS = FIELD | AUD  # every staff role
RANKERS = MANAGERS | AUD  # assessments, exports
QUERIES = EDITORS | AUD  # coverage and rankings

PERMITTED: dict[str, frozenset[str]] = {
    **dict.fromkeys(("listGridUnits", "getGridUnit"), READERS),
    **dict.fromkeys(("createGridUnit", "renameGridUnit", "moveGridUnit", "retireGridUnit"), ADM),
    **dict.fromkeys(("listStaff", "getStaff", "listStaffAssignments"), READERS),
    **dict.fromkeys(("appointStaff", "reassignStaff", "relieveStaff", "issueBindingCode"), ADM),
    "unbindDevice": ADM,  # or the staff member themself (the spare member calls nothing)
    **dict.fromkeys(("listHouseholds", "getHousehold"), READERS),
    **dict.fromkeys(
        ("registerHousehold", "updateHousehold", "addHouseholdPerson", "removeHouseholdPerson"),
        EDITORS,
    ),
    **dict.fromkeys(("tagHouseholdPerson", "untagHouseholdPerson", "dissolveHousehold"), EDITORS),
    # a grid member may move only within their scope, which is the one grid (40301)
    "moveHousehold": MANAGERS,
    "resolveHouseholdConflict": MANAGERS,
    "importLedger": SUP,
    **dict.fromkeys(("getMedia", "uploadMedia"), READERS),
    "createPublicMediaCopy": SUP,
    "recordVisit": FIELD,
    **dict.fromkeys(("listVisits", "getVisit"), READERS),
    # correctors, or the visit's own author: the set's visit is its member's
    **dict.fromkeys(("amendVisit", "voidVisit"), EDITORS),
    **dict.fromkeys(
        ("openMediation", "recordMediationSession", "concludeMediation", "recordMediationFollowUp"),
        FIELD,
    ),
    **dict.fromkeys(("listMediations", "getMediation"), READERS),
    "proposeAward": EDITORS,
    **dict.fromkeys(("listAwards", "getAward", "getPointsAccount"), READERS),
    **dict.fromkeys(("approveAward", "rejectAward", "revokeAward"), MANAGERS),
    **dict.fromkeys(("redeemPoints", "cancelRedemption"), EDITORS),
    **dict.fromkeys(
        ("defineCaseCategory", "relabelCaseCategory", "retireCaseCategory", "replaceSlaRules"),
        ADM,
    ),
    **dict.fromkeys(("setCalendarYear", "clearCalendarYear"), ADM),
    **dict.fromkeys(("definePointRule", "revisePointRule", "retirePointRule"), ADM),
    "getWorkingCalendar": READERS,
    "reportCase": EDITORS,
    "getCase": READERS,
    **dict.fromkeys(
        ("acceptCase", "rejectCase", "registerCase", "dispatchCase", "verifyCase"), MANAGERS
    ),
    **dict.fromkeys(("failCaseVerification", "closeCase", "recordCaseSatisfaction"), MANAGERS),
    **dict.fromkeys(
        ("reopenCase", "superviseCase", "decideCaseDelay", "suspendCase", "resumeCase"), SUP
    ),
    **dict.fromkeys(
        ("signForCase", "returnCase", "handleCase", "requestCaseDelay", "reportCaseUp"), EDITORS
    ),
    **dict.fromkeys(("listCaseBoard", "listOverdueCases", "listEscalatedCases"), READERS),
    "getLogEntry": AUD,
    "getMemberProfile": EDITORS,  # managers in scope, or the member themself
    **dict.fromkeys(("listGridCoverage", "rankGrids", "rankMembers"), QUERIES),
    "createExport": RANKERS,
    **dict.fromkeys(
        (
            "composeNoticeBoardEdition",
            "approveNoticeBoardEdition",
            "publishNoticeBoardEdition",
            "withdrawNoticeBoardEdition",
        ),
        SUP,
    ),
    # an edition is a village's: a grid member's scope lies below it (40301)
    **dict.fromkeys(("listNoticeBoardEditions", "getNoticeBoardEdition"), RANKERS | {"mediator"}),
    **dict.fromkeys(("getPublicNoticeBoard", "getPublicNoticeBoardPage"), READERS),
    **dict.fromkeys(("defineAssessmentScheme", "reviseAssessmentScheme"), ADM),
    "retireAssessmentScheme": ADM,
    **dict.fromkeys(("rankAssessments", "exportAssessmentRankings", "explainUnitScore"), RANKERS),
    "explainMemberScore": RANKERS | {"grid_member"},  # or the member themself
    "signOffAssessment": MANAGERS,
    "getAssessmentSignOff": RANKERS,
    "exportEvidenceBundle": AUD,
    **dict.fromkeys(("syncPush", "syncPull", "listSyncReview"), READERS),
    **dict.fromkeys(("acceptSyncReview", "rejectSyncReview"), MANAGERS),
    "listSyncDevices": READERS,
}

# Operations about no grid at all (the B1 matrix exempts them): still every role in scope is
# checked against its policy, and their answers must carry nothing of another town.
GLOBAL: dict[str, tuple[frozenset[str], Callable[[World, ResourceSet, str], Call]]] = {
    "getHealth": (READERS, lambda w, a, who: Call()),
    "getMe": (READERS, lambda w, a, who: Call()),
    "getReferenceData": (READERS, lambda w, a, who: Call()),
    "listCaseCategories": (READERS, lambda w, a, who: Call()),
    "getSlaRules": (READERS, lambda w, a, who: Call()),
    "listPointRules": (READERS, lambda w, a, who: Call()),
    "listAssessmentSchemes": (READERS, lambda w, a, who: Call()),
    "getMetrics": (SUP, lambda w, a, who: Call()),
    "getProjectionStatus": (SUP, lambda w, a, who: Call()),
    "listExportAudit": (ADM | AUD, lambda w, a, who: Call(params={"limit": 200})),
    "listAccessAudit": (AUD, lambda w, a, who: Call(params={"limit": 200})),
    "getLatestLogCheckpoint": (AUD, lambda w, a, who: Call()),
    "listLogCheckpoints": (AUD, lambda w, a, who: Call()),
    "listLogKeys": (AUD, lambda w, a, who: Call()),
    "getPublicLogCheckpoint": (READERS, lambda w, a, who: Call()),
    "getPublicLogKeys": (READERS, lambda w, a, who: Call()),
}
# Not in either matrix: logging in and out and token refresh (no caller yet, or they end the
# caller's session: tests/integration/test_auth_api.py, test_security_tokens.py), and the log's
# proofs, which take tree sizes and hashes and answer hashes only (test_audit_log_api.py);
# system-wide rules read by code (the same for every caller, test_reference_api.py).
UNCALLED = frozenset(
    {"wxLogin", "refreshToken", "logout", "devLogin", "getPointRule", "getAssessmentScheme"}
) | {"getLogInclusionProof", "getLogConsistencyProof", "checkPublicLogConsistency"}

# Reads whose answer, in scope, shows the set (a word or an id of it).
SHOWS = frozenset(
    {"listGridUnits", "getGridUnit", "listStaff", "getStaff", "listHouseholds", "getHousehold"}
    | {"listVisits", "getVisit", "listMediations", "getMediation", "listAwards", "getAward"}
    | {"getPointsAccount", "getCase", "listCaseBoard", "listSyncReview", "getMemberProfile"}
    | {"getNoticeBoardEdition", "getPublicNoticeBoard", "getPublicNoticeBoardPage"}
    | {"listOverdueCases", "listEscalatedCases", "listGridCoverage", "rankGrids", "rankMembers"}
    | {"listSyncDevices", "syncPull", "listAccessAudit", "listExportAudit"}
    | {"listNoticeBoardEditions"}
)

# Case actions of the one the case is dispatched to (managers in scope may act for them), and
# reporting up a level: the permitted callers go from the grid member upwards.
UPWARD = frozenset({"signForCase", "returnCase", "handleCase", "requestCaseDelay"})
UPWARD |= {"reportCaseUp"}
_RANK = ("grid_member", "mediator", "grid_head", "auditor", "supervisor", "admin")

# Steps of one resource's life (a case, an award, a conflict, an edition, a spare): the first
# permitted caller moves it on, so later permitted callers may find it in a state that no
# longer allows the step (409) — never a 403. Each still has a first caller that succeeds,
# except failCaseVerification: the spare case's one life (see CASE_ORDER) passes "handled"
# on its way to verified, so for it only "not refused by role" is checked.
STATEFUL = frozenset(
    {"resolveHouseholdConflict", "moveHousehold", "dissolveHousehold"}
    | {"approveAward", "rejectAward", "revokeAward", "cancelRedemption"}
    | {"concludeMediation", "amendVisit", "voidVisit"}
    | {"acceptSyncReview", "rejectSyncReview", "createGridUnit", "retireGridUnit"}
    | {"approveNoticeBoardEdition", "publishNoticeBoardEdition", "withdrawNoticeBoardEdition"}
    | {"signOffAssessment", "defineCaseCategory", "definePointRule", "defineAssessmentScheme"}
    | {"removeHouseholdPerson"}  # 404 once the person is gone
    | {"retireCaseCategory", "retirePointRule", "retireAssessmentScheme", "relieveStaff"}
    | {"exportEvidenceBundle"}  # 40990 until the sealer has signed the events: retry
)

# The spare case's one life, in the order the in-scope pass takes its steps.
CASE_ORDER = (
    "acceptCase", "superviseCase", "suspendCase", "resumeCase", "registerCase", "dispatchCase",
    "signForCase", "requestCaseDelay", "decideCaseDelay", "handleCase", "verifyCase",
    "closeCase", "recordCaseSatisfaction", "reopenCase", "failCaseVerification", "reportCaseUp",
    "rejectCase", "returnCase",  # these two on spare cases of their own
)  # fmt: skip
STATEFUL |= set(CASE_ORDER) - {"superviseCase"}
# Steps that need another first: a board published before the public reads it, a sign-off
# before it is read, a calendar override before it is cleared.
FIRST = (
    "composeNoticeBoardEdition", "approveNoticeBoardEdition", "publishNoticeBoardEdition",
    "signOffAssessment", "setCalendarYear", "recordMediationSession",
)  # fmt: skip
# Steps that end a thing other steps still use: reference data is retired after its revision.
LAST = ("retireCaseCategory", "retirePointRule", "retireAssessmentScheme")
# Operations about no set: reference data and the whole evidence log. Outside its scope a
# role calls only the reads of them (a write would change what every town uses).
UNSCOPED = frozenset(
    {"defineCaseCategory", "relabelCaseCategory", "retireCaseCategory", "replaceSlaRules"}
    | {"setCalendarYear", "clearCalendarYear", "getWorkingCalendar", "getLogEntry"}
    | {"definePointRule", "revisePointRule", "retirePointRule"}
    | {"defineAssessmentScheme", "reviseAssessmentScheme", "retireAssessmentScheme"}
)


def in_scope_order(operation_ids: list[str]) -> list[str]:
    rest = sorted(set(operation_ids) - set(FIRST) - set(LAST) - set(CASE_ORDER))
    return [*FIRST, *rest, *LAST, *CASE_ORDER]


def callers(operation_id: str, roles: list[str]) -> list[str]:
    """Refused roles first, then the permitted ones (upwards for :data:`UPWARD` steps)."""
    upward = operation_id in UPWARD

    def key(role: str) -> tuple[bool, int]:
        return permitted(role, operation_id), _RANK.index(ROLE_OF[role]) if upward else 0

    return sorted(roles, key=key)


def permitted(role_key: str, operation_id: str) -> bool:
    roles = PERMITTED.get(operation_id) or GLOBAL[operation_id][0]
    return ROLE_OF[role_key] in roles
