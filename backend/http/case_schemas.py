"""Wire types of the case endpoints (kept apart from the domain's events)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from backend.http.wire import RequestBody

__all__ = [
    "AcceptCase",
    "CaseBoardPage",
    "CaseBoardRow",
    "CaseView",
    "CloseCase",
    "DecideDelay",
    "DispatchCase",
    "HandleCase",
    "NoteCase",
    "ReasonCase",
    "RecordSatisfaction",
    "ReportCase",
    "RequestDelay",
    "SuperviseCase",
    "board_page",
    "case_view",
]

Text = Annotated[str, msgspec.Meta(max_length=2000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Sha256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
Photos = Annotated[list[Sha256], msgspec.Meta(max_length=20)]
State = Literal[
    "reported", "accepted", "rejected", "registered", "dispatched", "signed_for", "handled",
    "verified", "closed", "suspended",
]  # fmt: skip
Colour = Literal["green", "yellow", "red"]


class GpsBody(RequestBody):
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lng: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    accuracy_m: Annotated[float, msgspec.Meta(ge=0, le=100_000)] | None = None


class ReportCase(RequestBody):
    """``id`` comes from the phone (UUIDv7): re-sending the same report is idempotent."""

    id: UUID
    category: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    location: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    unit_id: UUID | None = None
    source: Literal["grid_member", "resident", "hotline", "superior"] | None = None
    contact_name: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    contact_phone: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    gps: GpsBody | None = None
    household_id: UUID | None = None
    photos: Photos = []
    client_time: datetime | None = None


class NoteCase(RequestBody):
    """Accept, register, verify, sign for, resume: an optional comment."""

    comment: Text | None = None
    client_time: datetime | None = None


AcceptCase = NoteCase


class ReasonCase(RequestBody):
    """Reject, return, fail verification, reopen, report up, suspend: a reason."""

    reason: Reason
    client_time: datetime | None = None


class DispatchCase(RequestBody):
    """To exactly one of a staff member or a grid unit."""

    staff_id: UUID | None = None
    unit_id: UUID | None = None
    instructions: Text | None = None
    client_time: datetime | None = None


class HandleCase(RequestBody):
    result: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    before_photos: Photos = []
    after_photos: Photos = []
    client_time: datetime | None = None


class CloseCase(RequestBody):
    summary: Text | None = None
    client_time: datetime | None = None


class SuperviseCase(RequestBody):
    instruction: Reason
    client_time: datetime | None = None


class RequestDelay(RequestBody):
    days: Annotated[int, msgspec.Meta(ge=1, le=30)]
    reason: Reason
    client_time: datetime | None = None


class DecideDelay(RequestBody):
    approve: bool
    comment: Text | None = None
    client_time: datetime | None = None


class RecordSatisfaction(RequestBody):
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: Text | None = None
    client_time: datetime | None = None


# -- views ------------------------------------------------------------------------------------


class PhotoView(msgspec.Struct, kw_only=True):
    sha256: str
    kind: Literal["report", "before", "after"]
    pending: bool
    """True until the photo itself is uploaded ("photo pending")."""


class Threshold(msgspec.Struct, kw_only=True):
    threshold: Literal["yellow", "red"]
    stage: str
    stage_seq: int
    at: datetime


class Escalation(msgspec.Struct, kw_only=True):
    to_unit_id: UUID
    stage: str
    stage_seq: int
    at: datetime


class PauseView(msgspec.Struct, kw_only=True):
    start: datetime
    end: datetime | None = None


class ReporterView(msgspec.Struct, kw_only=True):
    source: str
    staff_id: UUID | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


class GpsView(msgspec.Struct, kw_only=True):
    lat: float
    lng: float
    accuracy_m: float | None = None


class SatisfactionView(msgspec.Struct, kw_only=True):
    rating: int
    comment: str | None = None


class HistoryEntry(msgspec.Struct, kw_only=True):
    version: int
    at: datetime
    event: str
    actor_id: UUID | None
    role: str
    client_time: datetime | None = None
    detail: dict[str, Any] = {}


class _SlaFields(msgspec.Struct, kw_only=True):
    stage: str | None
    stage_seq: int
    stage_entered_at: datetime
    extension_days: int
    pending_delay_days: int | None = None
    deadline: datetime | None = None
    colour: Colour | None = None
    overdue: bool
    deadline_provisional: bool = False
    """The deadline counts days of a year without holiday data as Monday–Friday working days:
    it may move once an admin enters that year's arrangement (``/v1/reference/calendar``)."""


class CaseView(_SlaFields, kw_only=True):
    id: UUID
    version: int
    category: str
    title: str
    description: str
    location: str
    gps: GpsView | None = None
    household_id: UUID | None = None
    reporter: ReporterView
    level: int
    holder_unit_id: UUID
    state: State
    status: State
    suspended: bool
    assignee_staff_id: UUID | None = None
    assignee_unit_id: UUID | None = None
    result: str | None = None
    last_reason: str | None = None
    supervisions: int
    satisfaction: SatisfactionView | None = None
    photos: list[PhotoView]
    escalated: bool
    escalations: list[Escalation]
    warnings: list[Threshold]
    allowed_actions: list[str]
    """What this caller may do now (state, role and scope together)."""
    history: list[HistoryEntry]


class CaseBoardRow(_SlaFields, kw_only=True):
    id: UUID
    version: int
    category: str
    title: str
    state: State
    status: State
    suspended: bool
    level: int
    holder_unit_id: UUID
    assignee_staff_id: UUID | None = None
    assignee_unit_id: UUID | None = None
    reporter_source: str
    pauses: list[PauseView]
    escalated: bool
    escalations: list[Escalation]
    warnings: list[Threshold]
    photos: list[PhotoView]
    photos_pending: bool
    reported_at: datetime
    closed_at: datetime | None = None
    satisfaction: int | None = None
    supervisions: int


class CaseBoardPage(msgspec.Struct, kw_only=True):
    total: int
    limit: int
    offset: int
    items: list[CaseBoardRow]


def case_view(doc: dict[str, Any]) -> CaseView:
    return msgspec.convert(doc, CaseView, from_attributes=True)


def board_page(total: int, limit: int, offset: int, docs: list[dict[str, Any]]) -> CaseBoardPage:
    items = [msgspec.convert(d, CaseBoardRow) for d in docs]
    return CaseBoardPage(total=total, limit=limit, offset=offset, items=items)
