"""Folding case events into a board document (pure: no SQL), mirroring ``events.case_events``.

The document keeps what the SLA clock needs (stage, stage entry, pauses, extension, thresholds
already recorded) rather than a deadline: deadlines depend on the SLA policy and the working
calendar, which are reference data an admin can change, so they are computed when the board is
read. Times are server times (event timestamps), stored as ISO strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from events.case_states import STAGE_OF, CaseStatus, Stage
from events.sla import Pause, SlaClock

__all__ = ["HISTORY_DETAIL", "fold_case", "new_case_doc", "sla_clock_of"]

Doc = dict[str, Any]

# Event fields worth showing in a case's history (never contact details: personal data).
HISTORY_DETAIL = (
    "comment", "reason", "instructions", "result", "summary", "instruction", "days",
    "approved", "assignee_staff_id", "assignee_unit_id", "to_unit_id", "to_level", "rating",
    "stage", "stage_seq", "threshold", "before_photos", "after_photos",
)  # fmt: skip
# Events that move the case into a lifecycle state (and start a new stage entry).
_ENTERS: dict[str, CaseStatus] = {
    "Rejected": "rejected",
    "Registered": "registered",
    "Dispatched": "dispatched",
    "SignedFor": "signed_for",
    "Returned": "registered",
    "Handled": "handled",
    "Verified": "verified",
    "VerificationFailed": "signed_for",
    "Closed": "closed",
    "Reopened": "registered",
    "ReportedUp": "registered",
}


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _enter(doc: Doc, status: CaseStatus, at: datetime) -> None:
    doc.update(
        status=status, stage=STAGE_OF[status], stage_seq=doc["stage_seq"] + 1,
        stage_entered_at=_iso(at), pauses=[], extension_days=0, pending_delay_days=None,
        sla_emitted=[],
    )  # fmt: skip


def new_case_doc(e: Any) -> Doc:
    """The board document of a just-reported case."""
    doc: Doc = {
        "id": str(e.originator_id), "category": e.category, "title": e.title,
        "level": e.level, "holder_unit_id": str(e.holder_unit_id),
        "household_id": str(e.household_id) if e.household_id else None,
        "reporter_source": e.reporter.source,
        "reporter_staff_id": str(e.reporter.staff_id) if e.reporter.staff_id else None,
        "photos": list(e.photos), "before_photos": [], "after_photos": [],
        "suspended": False, "assignee_staff_id": None, "assignee_unit_id": None,
        "supervisions": 0, "satisfaction": None, "warnings": [], "escalations": [],
        "reported_at": _iso(e.timestamp), "closed_at": None, "stage_seq": 0,
        "version": e.originator_version,
    }  # fmt: skip
    _enter(doc, "reported", e.timestamp)
    return doc


def _unassign(doc: Doc) -> None:
    doc["assignee_staff_id"] = doc["assignee_unit_id"] = None


def _lifecycle(doc: Doc, name: str, e: Any) -> None:
    """The bookkeeping around a state change (before the new stage entry)."""
    if name == "Dispatched":
        doc["assignee_staff_id"] = str(e.assignee_staff_id) if e.assignee_staff_id else None
        doc["assignee_unit_id"] = str(e.assignee_unit_id) if e.assignee_unit_id else None
    elif name == "SignedFor":
        doc["assignee_staff_id"] = str(e.meta.actor_id) if e.meta.actor_id else None
    elif name in ("Returned", "Reopened"):
        _unassign(doc)
    elif name == "Handled":
        doc["before_photos"], doc["after_photos"] = list(e.before_photos), list(e.after_photos)
    elif name == "ReportedUp":
        doc["holder_unit_id"], doc["level"] = str(e.to_unit_id), e.to_level
        _unassign(doc)
    if name == "Reopened":
        doc["satisfaction"], doc["closed_at"] = None, None
    if name == "Closed":
        doc["closed_at"] = _iso(e.timestamp)


def _side(doc: Doc, name: str, e: Any) -> None:
    """Events that leave the lifecycle state (and its stage entry) as it is."""
    at = _iso(e.timestamp)
    if name == "Accepted":
        doc["status"] = "accepted"
    elif name == "Supervised":
        doc["supervisions"] += 1
    elif name == "DelayRequested":
        doc["pending_delay_days"] = e.days
    elif name == "DelayDecided":
        doc["pending_delay_days"] = None
        doc["extension_days"] += e.days if e.approved else 0
    elif name == "Suspended":
        doc["suspended"], doc["pauses"] = True, [*doc["pauses"], {"start": at, "end": None}]
    elif name == "Resumed":
        doc["suspended"] = False
        doc["pauses"] = [*doc["pauses"][:-1], {**doc["pauses"][-1], "end": at}]
    elif name == "SatisfactionRecorded":
        doc["satisfaction"] = e.rating
    elif name in ("SlaWarned", "SlaBreached"):
        threshold = "yellow" if name == "SlaWarned" else "red"
        doc["sla_emitted"] = [*doc["sla_emitted"], threshold]
        warning = {"threshold": threshold, "stage": e.stage, "stage_seq": e.stage_seq, "at": at}
        doc["warnings"] = [*doc["warnings"], warning]
    elif name == "Escalated":
        doc["sla_emitted"] = [*doc["sla_emitted"], "escalated"]
        doc["escalations"] = [
            *doc["escalations"],
            {"to_unit_id": str(e.to_unit_id), "stage": e.stage, "stage_seq": e.stage_seq,
             "at": at},
        ]  # fmt: skip


def fold_case(doc: Doc, e: Any) -> Doc:
    """``doc`` after event ``e`` (dispatch on the class name: topics may differ from paths)."""
    name = type(e).__name__
    doc = dict(doc)
    if name in _ENTERS:
        _lifecycle(doc, name, e)
        _enter(doc, _ENTERS[name], e.timestamp)
    else:
        _side(doc, name, e)
    doc["version"] = e.originator_version
    return doc


def sla_clock_of(doc: Doc) -> SlaClock:
    """The SLA clock of a board document (what ``Case.sla_clock()`` gives for the aggregate)."""
    stage: Stage | None = doc["stage"]
    return SlaClock(
        case_id=UUID(doc["id"]), level=doc["level"], category=doc["category"], stage=stage,
        stage_seq=doc["stage_seq"],
        stage_entered_at=datetime.fromisoformat(doc["stage_entered_at"]),
        pauses=tuple(
            Pause(start=datetime.fromisoformat(p["start"]),
                  end=datetime.fromisoformat(p["end"]) if p["end"] else None)
            for p in doc["pauses"]
        ),
        extension_days=doc["extension_days"], emitted=tuple(doc["sla_emitted"]),
    )  # fmt: skip
