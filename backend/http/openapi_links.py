"""OpenAPI ``links``: from a response to the operations that act on what it describes.

Litestar documents operations one by one. A client author (and a stateful fuzzer) also needs
the paths between them: a case reported with ``reportCase`` is accepted with ``acceptCase``
at ``/v1/cases/{case_id}`` where ``case_id`` is the answer's ``id``. These tables say so once,
by operationId, and :func:`publish_links` writes them into every 2xx response of the source
operation in the published document (``/schema/openapi.json``).

A resource family is the set of operations whose answer is one resource's view (``views``)
and the set of operations that address that resource (``actions``), joined by the JSON
pointers that carry its identity. Anything else (a list answer leading to one item, a body
field filled from an answer) is a single :class:`LinkRule`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

from litestar import Litestar
from litestar.openapi.spec import Link, OpenAPIResponse, Operation, Reference

__all__ = ["FAMILIES", "RULES", "LinkRule", "ResourceFamily", "link_rules", "publish_links"]

_CASE_ACTIONS: Final = """acceptCase rejectCase registerCase dispatchCase signForCase returnCase
    handleCase verifyCase failCaseVerification closeCase reopenCase reportCaseUp superviseCase
    requestCaseDelay decideCaseDelay suspendCase resumeCase recordCaseSatisfaction"""
_HOUSEHOLD_VIEWS: Final = """registerHousehold getHousehold addHouseholdPerson
    removeHouseholdPerson tagHouseholdPerson untagHouseholdPerson moveHousehold dissolveHousehold
    resolveHouseholdConflict"""
_HOUSEHOLD_ACTIONS: Final = (
    "getHousehold updateHousehold addHouseholdPerson moveHousehold dissolveHousehold"
)
_AWARD_VIEWS: Final = "proposeAward getAward approveAward rejectAward revokeAward"
_EDITION_ACTIONS: Final = """getNoticeBoardEdition approveNoticeBoardEdition
    publishNoticeBoardEdition withdrawNoticeBoardEdition"""
_MEDIATION_ACTIONS: Final = (
    "getMediation recordMediationSession concludeMediation recordMediationFollowUp"
)
_BOARD_OF_UNIT: Final = "listNoticeBoardEditions getPublicNoticeBoard getPublicNoticeBoardPage"


@dataclass(frozen=True)
class ResourceFamily:
    """Every view operation links to every action, each path parameter read from the view."""

    name: str
    parameters: Mapping[str, str]  # path parameter -> JSON pointer into the view
    views: tuple[str, ...]
    actions: tuple[str, ...]


@dataclass(frozen=True)
class LinkRule:
    """One link: ``parameters`` and ``request_body`` hold runtime expressions or constants."""

    source: str
    target: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    request_body: Mapping[str, str] | None = None
    name: str = ""

    @property
    def link_name(self) -> str:
        return self.name or self.target


def _family(name: str, parameters: Mapping[str, str], views: str, actions: str) -> ResourceFamily:
    """Operations listed by operationId, separated by white space."""
    return ResourceFamily(name, parameters, tuple(views.split()), tuple(actions.split()))


FAMILIES: Final = (
    _family(
        "grid unit", {"unit_id": "/id"},
        "createGridUnit getGridUnit moveGridUnit renameGridUnit retireGridUnit",
        f"getGridUnit moveGridUnit renameGridUnit retireGridUnit {_BOARD_OF_UNIT}",
    ),
    _family(
        "staff", {"staff_id": "/id"},
        "appointStaff getStaff reassignStaff relieveStaff",
        "getStaff listStaffAssignments issueBindingCode reassignStaff relieveStaff"
        " getMemberProfile",
    ),
    _family("household", {"household_id": "/id"}, _HOUSEHOLD_VIEWS, _HOUSEHOLD_ACTIONS),
    _family(
        "household after an update", {"household_id": "/household/id"},
        "updateHousehold", _HOUSEHOLD_ACTIONS,
    ),
    _family(
        "person",  # the first person on file (the list keeps registration order)
        {"household_id": "/id", "person_id": "/persons/0/person_id"},
        _HOUSEHOLD_VIEWS, "removeHouseholdPerson tagHouseholdPerson untagHouseholdPerson",
    ),
    _family(
        "household conflict", {"household_id": "/household/id", "conflict_id": "/conflict_ids/0"},
        "updateHousehold", "resolveHouseholdConflict",
    ),
    _family(
        "case", {"case_id": "/id"},
        f"reportCase getCase {_CASE_ACTIONS}", f"getCase {_CASE_ACTIONS}",
    ),
    _family(
        "visit", {"visit_id": "/id"},
        "recordVisit getVisit amendVisit voidVisit", "getVisit amendVisit voidVisit",
    ),
    _family(
        "mediation", {"mediation_id": "/id"},
        f"openMediation {_MEDIATION_ACTIONS}", _MEDIATION_ACTIONS,
    ),
    _family(
        "award", {"award_id": "/id"}, _AWARD_VIEWS, "getAward approveAward rejectAward revokeAward"
    ),
    _family(
        "points account of an award's owner",
        {"owner_kind": "/owner_kind", "owner_id": "/owner_id"},
        f"{_AWARD_VIEWS} getPointsAccount", "getPointsAccount redeemPoints",
    ),
    _family(
        "points account after a redemption",
        {"owner_kind": "/account/owner_kind", "owner_id": "/account/owner_id"},
        "redeemPoints cancelRedemption", "getPointsAccount redeemPoints",
    ),
    _family(
        "redemption",
        {"owner_kind": "/account/owner_kind", "owner_id": "/account/owner_id",
         "redemption_id": "/redemption/redemption_id"},
        "redeemPoints", "cancelRedemption",
    ),
    _family(
        "case category", {"code": "/code"},
        "defineCaseCategory relabelCaseCategory", "relabelCaseCategory retireCaseCategory",
    ),
    _family(
        "point rule", {"code": "/code"},
        "definePointRule getPointRule revisePointRule retirePointRule",
        "getPointRule revisePointRule retirePointRule",
    ),
    _family(
        "assessment scheme", {"code": "/code"},
        "defineAssessmentScheme getAssessmentScheme reviseAssessmentScheme retireAssessmentScheme",
        "getAssessmentScheme reviseAssessmentScheme retireAssessmentScheme",
    ),
    _family(
        "working calendar year", {"year": "/year"},
        "getWorkingCalendar setCalendarYear clearCalendarYear",
        "getWorkingCalendar setCalendarYear clearCalendarYear",
    ),
    _family(
        "photo", {"sha256": "/sha256"},
        "uploadMedia getMedia createPublicMediaCopy", "getMedia createPublicMediaCopy",
    ),
    _family(
        "notice-board edition", {"edition_id": "/id"},
        f"composeNoticeBoardEdition {_EDITION_ACTIONS}", _EDITION_ACTIONS,
    ),
    _family(
        "notice board of an edition's unit", {"unit_id": "/unit_id"},
        "composeNoticeBoardEdition publishNoticeBoardEdition", _BOARD_OF_UNIT,
    ),
    _family(
        "assessment sign-off", {"period": "/period", "unit_id": "/unit_id"},
        "signOffAssessment getAssessmentSignOff", "getAssessmentSignOff explainUnitScore",
    ),
    _family(
        "assessment period", {"period": "/period"},
        "signOffAssessment getAssessmentSignOff explainUnitScore rankAssessments",
        "rankAssessments exportAssessmentRankings",
    ),
    _family(
        "a unit's score", {"period": "/period", "unit_id": "/subject_id"},
        "explainUnitScore", "getAssessmentSignOff signOffAssessment",
    ),
    _family(
        "sync review item", {"event_id": "/event_id"},
        "acceptSyncReview rejectSyncReview", "acceptSyncReview rejectSyncReview",
    ),
)  # fmt: skip
"""Resources and the operations that act on them."""


def _read(source: str, target: str, **pointers: str) -> LinkRule:
    """``target``'s path parameters read from ``source``'s answer at the given JSON pointers."""
    return LinkRule(source, target, {p: f"$response.body#{ptr}" for p, ptr in pointers.items()})


def _fill(source: str, target: str, body_field: str, pointer: str = "/id") -> LinkRule:
    """``target``'s body field ``body_field`` taken from ``source``'s answer."""
    return LinkRule(source, target, request_body={body_field: f"$response.body#{pointer}"})


_FIRST: Final = "/items/0/id"

RULES: Final = (
    # A list leads to its first item.
    _read("listGridUnits", "getGridUnit", unit_id="/0/id"),
    _read("listPointRules", "getPointRule", code="/0/code"),
    _read("listStaff", "getStaff", staff_id=_FIRST),
    _read("listHouseholds", "getHousehold", household_id=_FIRST),
    _read("listVisits", "getVisit", visit_id=_FIRST),
    _read("listMediations", "getMediation", mediation_id=_FIRST),
    _read("listAwards", "getAward", award_id=_FIRST),
    _read("listCaseBoard", "getCase", case_id=_FIRST),
    _read("listOverdueCases", "getCase", case_id=_FIRST),
    _read("listEscalatedCases", "getCase", case_id=_FIRST),
    _read("listNoticeBoardEditions", "getNoticeBoardEdition", edition_id=_FIRST),
    _read("listSyncReview", "acceptSyncReview", event_id="/items/0/event_id"),
    _read("listSyncReview", "rejectSyncReview", event_id="/items/0/event_id"),
    # A ranking leads to its first subject's score (a unit's or a member's, by level).
    _read("rankAssessments", "explainUnitScore", period="/period", unit_id="/items/0/subject_id"),
    _read(
        "rankAssessments", "explainMemberScore", period="/period", staff_id="/items/0/subject_id"
    ),
    _read("rankAssessments", "signOffAssessment", period="/period", unit_id="/items/0/subject_id"),
    # Who am I: my own record, profile and grid.
    _read("getMe", "getStaff", staff_id="/staff_id"),
    _read("getMe", "getMemberProfile", staff_id="/staff_id"),
    _read("getMe", "getGridUnit", unit_id="/scope_unit_id"),
    # A session is renewed with the refresh token it was issued with, from the same device.
    *(
        LinkRule(
            source,
            "refreshToken",
            request_body={
                "refresh_token": "$response.body#/refresh_token",
                "device_id": "$request.body#/device_id",
            },
        )
        for source in ("wxLogin", "refreshToken")
    ),
    # Body fields naming what an answer describes: where to put, register or report next.
    _fill("createGridUnit", "createGridUnit", "parent_id"),
    _fill("createGridUnit", "appointStaff", "scope_unit_id"),
    _fill("createGridUnit", "registerHousehold", "grid_id"),
    _fill("createGridUnit", "reportCase", "unit_id"),
    _fill("createGridUnit", "composeNoticeBoardEdition", "unit_id"),
    _fill("registerHousehold", "recordVisit", "household_id"),
    _fill("registerHousehold", "reportCase", "household_id"),
    _fill("reportCase", "openMediation", "case_id"),
    _fill("recordVisit", "recordMediationFollowUp", "visit_id"),
)
"""Links outside a family."""


def link_rules() -> Iterator[LinkRule]:
    """Every link, families expanded; a family's link is named after its target operation."""
    for family in FAMILIES:
        expressions = {p: f"$response.body#{ptr}" for p, ptr in family.parameters.items()}
        for source in family.views:
            for target in family.actions:
                yield LinkRule(source, target, expressions)
    yield from RULES


def _operations(app: Litestar) -> dict[str, Operation]:
    found: dict[str, Operation] = {}
    for item in (app.openapi_schema.paths or {}).values():
        for method in ("get", "put", "post", "patch", "delete"):
            operation: Operation | None = getattr(item, method)
            if operation is not None and operation.operation_id:
                found[operation.operation_id] = operation
    return found


def _link(rule: LinkRule) -> Link:
    return Link(
        operation_id=rule.target,
        parameters=dict(rule.parameters) or None,
        request_body=dict(rule.request_body) if rule.request_body is not None else None,
    )


def _answers(operation: Operation) -> Iterator[OpenAPIResponse]:
    for status, response in (operation.responses or {}).items():
        if status.startswith("2") and isinstance(response, OpenAPIResponse) and response.content:
            yield response


def publish_links(app: Litestar) -> None:
    """Write every link into its source's 2xx responses (those with a body) in the document.

    Idempotent: publishing again rewrites the same links. Raises ``LookupError`` if a rule
    names an operation that is not served, so a renamed operation cannot leave a dangling link
    behind, and ``ValueError`` if two rules would give one answer two links of the same name
    (the second would hide the first).
    """
    operations = _operations(app)
    named = {op for rule in link_rules() for op in (rule.source, rule.target)}
    missing = sorted(named - set(operations))
    if missing:
        raise LookupError(f"OpenAPI links name operations that are not served: {missing}")
    written: set[tuple[str, str]] = set()
    for rule in link_rules():
        if (rule.source, rule.link_name) in written:
            raise ValueError(f"two links named {rule.link_name} from {rule.source}")
        written.add((rule.source, rule.link_name))
        for response in _answers(operations[rule.source]):
            links: dict[str, Link | Reference] = response.links or {}
            links[rule.link_name] = _link(rule)
            response.links = links
