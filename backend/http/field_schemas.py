"""Wire types of field work: visits (走访) and mediations (调解)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from backend.http.wire import RequestBody, check_storable_time
from events.mediation import Mediator, Party
from events.visit import Gps, VisitFindings

__all__ = [
    "AmendVisit",
    "ConcludeMediation",
    "MediationPage",
    "MediationView",
    "NewVisit",
    "OpenMediation",
    "RecordFollowUp",
    "RecordSession",
    "VisitPage",
    "VisitView",
    "VoidVisit",
    "mediation_view",
    "visit_view",
]

Sha256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
Check = Literal["ok", "problem", "not_checked"]
Need = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Notes = Annotated[str, msgspec.Meta(max_length=1000)]
Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text2000 = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Purpose = Literal[
    "routine",
    "comprehensive_visit",
    "poverty_monitoring",
    "policy_outreach",
    "epidemic_screening",
    "follow_up",
    "other",
]

# -- visits ----------------------------------------------------------------------------------


class Findings(RequestBody):
    """两不愁三保障: each check ok, problem or not_checked."""

    food_clothing: Check = "not_checked"
    drinking_water: Check = "not_checked"
    housing_safety: Check = "not_checked"
    basic_medical: Check = "not_checked"
    compulsory_education: Check = "not_checked"
    notes: Notes | None = None

    def domain(self) -> VisitFindings:
        return VisitFindings(**msgspec.structs.asdict(self))


class GpsFix(RequestBody):
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lng: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    accuracy_m: Annotated[float, msgspec.Meta(ge=0, le=1_000_000)] | None = None

    def domain(self) -> Gps:
        return Gps(lat=self.lat, lng=self.lng, accuracy_m=self.accuracy_m)


class NewVisit(RequestBody):
    """``visit_id`` is the phone's UUID (v7): re-sending the same visit is safe."""

    visit_id: UUID
    household_id: UUID
    purpose: Purpose
    method: Literal["in_person", "phone", "wechat"]
    visited_at: datetime
    findings: Findings = msgspec.field(default_factory=Findings)
    needs: Annotated[list[Need], msgspec.Meta(max_length=20)] = []
    gps: GpsFix | None = None
    photos: Annotated[list[Sha256], msgspec.Meta(max_length=20)] = []
    follow_up_case_ids: Annotated[list[UUID], msgspec.Meta(max_length=20)] = []
    client_time: datetime | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_storable_time("visited_at", self.visited_at)  # the visit log keeps and sorts it


class AmendVisit(RequestBody):
    """Omitted fields stay; ``""`` / ``[]`` clear them."""

    notes: Notes | None = None
    needs: Annotated[list[Need], msgspec.Meta(max_length=20)] | None = None


class VoidVisit(RequestBody):
    reason: Text200


class PhotoRef(msgspec.Struct, kw_only=True):
    sha256: str
    pending: bool
    """True until the photo itself has been uploaded (POST /v1/media)."""


class GpsView(msgspec.Struct, kw_only=True):
    lat: float
    lng: float
    accuracy_m: float | None = None


class FindingsView(msgspec.Struct, kw_only=True):
    food_clothing: str
    drinking_water: str
    housing_safety: str
    basic_medical: str
    compulsory_education: str
    notes: str | None = None


class VisitView(msgspec.Struct, kw_only=True):
    id: UUID
    household_id: UUID
    grid_id: UUID
    visitor_id: UUID | None
    visitor_role: str
    purpose: str
    method: str
    visited_at: datetime
    """As the phone reported it (shown, never used for ordering)."""
    recorded_at: datetime
    findings: FindingsView
    problems: list[str]
    needs: list[str]
    gps: GpsView | None
    photos: list[PhotoRef]
    follow_up_case_ids: list[UUID]
    amendments: int
    voided: bool
    void_reason: str | None
    version: int
    duplicate: bool = False
    """True when this visit had already been recorded under this id (a re-send)."""


class VisitPage(msgspec.Struct, kw_only=True):
    total: int
    limit: int
    offset: int
    items: list[VisitView]


def photo_refs(photos: list[str], pending: list[str]) -> list[PhotoRef]:
    return [PhotoRef(sha256=p, pending=p in pending) for p in photos]


def visit_view(row: dict[str, Any], *, duplicate: bool = False) -> VisitView:
    data = {k: v for k, v in row.items() if k in VisitView.__struct_fields__}
    data["photos"] = photo_refs(row["photos"], row["pending_photos"])
    return msgspec.convert({**data, "duplicate": duplicate}, VisitView, strict=False)


# -- mediations ------------------------------------------------------------------------------


class PartyIn(RequestBody):
    kind: Literal["person", "household"]
    ref_id: UUID
    role: Literal["applicant", "respondent", "other"]

    def domain(self) -> Party:
        return Party(kind=self.kind, ref_id=self.ref_id, role=self.role)


class MediatorIn(RequestBody):
    """``staff_id`` is omitted for a volunteer without a staff record (五老)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    kind: Literal["wulao", "mediator", "grid_member"]
    staff_id: UUID | None = None

    def domain(self) -> Mediator:
        return Mediator(staff_id=self.staff_id, name=self.name, kind=self.kind)


class OpenMediation(RequestBody):
    mediation_id: UUID
    parties: Annotated[list[PartyIn], msgspec.Meta(min_length=2, max_length=20)]
    mediators: Annotated[list[MediatorIn], msgspec.Meta(min_length=1, max_length=10)]
    case_id: UUID | None = None
    client_time: datetime | None = None


class RecordSession(RequestBody):
    session_id: UUID
    held_at: datetime
    notes: Text2000
    attendees: Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=40)]
    client_time: datetime | None = None


class ConcludeMediation(RequestBody):
    outcome: Literal["agreement", "failed", "referred"]
    referred_to: Literal["judicial_office", "court", "petition_office", "police"] | None = None
    agreement_summary: Text2000 | None = None
    agreement_photo: Sha256 | None = None
    follow_up_due: date | None = None
    client_time: datetime | None = None


class RecordFollowUp(RequestBody):
    visit_id: UUID
    result: Text2000
    client_time: datetime | None = None


class PartyView(msgspec.Struct, kw_only=True):
    kind: str
    ref_id: UUID
    role: str


class MediatorView(msgspec.Struct, kw_only=True):
    staff_id: UUID | None
    name: str
    kind: str


class SessionView(msgspec.Struct, kw_only=True):
    session_id: UUID
    held_at: datetime
    notes: str
    attendees: list[UUID]
    recorded_at: datetime


class FollowUpView(msgspec.Struct, kw_only=True):
    visit_id: UUID
    result: str
    recorded_at: datetime


class MediationView(msgspec.Struct, kw_only=True):
    id: UUID
    case_id: UUID | None
    state: str
    outcome: str | None
    referred_to: str | None
    agreement_summary: str | None
    agreement_photo: PhotoRef | None
    follow_up_due: date | None
    parties: list[PartyView]
    mediators: list[MediatorView]
    sessions: list[SessionView]
    follow_ups: list[FollowUpView]
    opened_by: UUID | None
    opened_at: datetime
    concluded_at: datetime | None
    version: int
    duplicate: bool = False
    """True when this mediation had already been opened under this id (a re-send)."""


class MediationPage(msgspec.Struct, kw_only=True):
    total: int
    limit: int
    offset: int
    items: list[MediationView]


def mediation_view(row: dict[str, Any], *, duplicate: bool = False) -> MediationView:
    data = {k: v for k, v in row.items() if k in MediationView.__struct_fields__}
    photo = row["agreement_photo"]
    data["agreement_photo"] = (
        None if photo is None else PhotoRef(sha256=photo, pending=row["photo_pending"])
    )
    return msgspec.convert({**data, "duplicate": duplicate}, MediationView, strict=False)
