"""Visits (走访/入户) and the field values shared by field-captured facts (DESIGN §2, §4).

A visit is captured on the phone, often offline: the phone gives it its id and the aggregate id
*is* that id, so re-sending it is idempotent at the store and two phones never conflict. The
visit time is what the phone reported (shown, never used for ordering). A mistaken visit is
voided, never deleted: it stays in the log for auditors.

Findings follow 两不愁三保障 (food and clothing, safe drinking water; housing safety, basic
medical care, compulsory education): each is ``ok``, ``problem`` or ``not_checked``.

``Gps`` and the photo-hash validators are shared with ``Case`` and ``Mediation``.
"""

import math
import re
from datetime import datetime
from typing import Final, Literal, Self, get_args
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, event

from events.errors import InvalidTransition, InvalidValue
from events.meta import EventMeta
from events.validation import ensure_aware, validate_text

__all__ = [
    "FINDING_CHECKS",
    "MAX_PHOTOS",
    "FindingCheck",
    "Gps",
    "Visit",
    "VisitFindings",
    "VisitMethod",
    "VisitPurpose",
    "VisitRevision",
    "validate_gps",
    "validate_photo",
    "validate_photos",
]

VisitPurpose = Literal[
    "routine",
    "comprehensive_visit",  # 遍访
    "poverty_monitoring",  # 返贫监测
    "policy_outreach",  # 政策宣传
    "epidemic_screening",
    "follow_up",
    "other",
]
VisitMethod = Literal["in_person", "phone", "wechat"]  # 入户, 电话, 微信
FindingCheck = Literal["ok", "problem", "not_checked"]
FINDING_CHECKS: Final = (
    "food_clothing",
    "drinking_water",
    "housing_safety",
    "basic_medical",
    "compulsory_education",
)
MAX_PHOTOS: Final = 20
_MAX_NEEDS: Final = 20
_SHA256: Final = re.compile(r"[0-9a-f]{64}")


class Gps(msgspec.Struct, frozen=True, kw_only=True):
    """A fix as the phone reported it; ``accuracy_m`` is the radius in metres."""

    lat: float
    lng: float
    accuracy_m: float | None = None


def validate_gps(gps: Gps | None) -> Gps | None:
    """Range-check and normalise to floats (an int would not round-trip as the same type)."""
    if gps is None:
        return None
    lat, lng = float(gps.lat), float(gps.lng)
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidValue("gps.lat must be within -90..90", field="gps.lat")
    if not (math.isfinite(lng) and -180.0 <= lng <= 180.0):
        raise InvalidValue("gps.lng must be within -180..180", field="gps.lng")
    accuracy = None if gps.accuracy_m is None else float(gps.accuracy_m)
    if accuracy is not None and not (math.isfinite(accuracy) and accuracy >= 0.0):
        raise InvalidValue("gps.accuracy_m must be >= 0", field="gps.accuracy_m")
    return Gps(lat=lat, lng=lng, accuracy_m=accuracy)


def validate_photo(value: str, *, field: str = "photos") -> str:
    """Photos are addressed by the SHA-256 of their bytes: 64 lowercase hex characters."""
    if not _SHA256.fullmatch(value):
        raise InvalidValue(f"{field} must hold 64 lowercase hex characters", field=field)
    return value


def validate_photos(values: tuple[str, ...], *, field: str = "photos") -> tuple[str, ...]:
    """Validate each hash and drop repeats (the same photo attached twice), keeping order."""
    unique = tuple(dict.fromkeys(validate_photo(v, field=field) for v in values))
    if len(unique) > MAX_PHOTOS:
        raise InvalidValue(f"at most {MAX_PHOTOS} photos", field=field)
    return unique


class VisitFindings(msgspec.Struct, frozen=True, kw_only=True):
    """两不愁三保障 checks plus free notes."""

    food_clothing: FindingCheck = "not_checked"  # 吃穿不愁
    drinking_water: FindingCheck = "not_checked"  # 饮水安全
    housing_safety: FindingCheck = "not_checked"  # 住房安全
    basic_medical: FindingCheck = "not_checked"  # 基本医疗
    compulsory_education: FindingCheck = "not_checked"  # 义务教育
    notes: str | None = None

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(c for c in FINDING_CHECKS if getattr(self, c) == "problem")


class VisitRevision(msgspec.Struct, frozen=True, kw_only=True):
    """Notes and needs as they were before an amendment."""

    notes: str | None
    needs: tuple[str, ...]


def _notes(value: str | None) -> str | None:
    return validate_text(value, field="notes", max_len=1000) if value and value.strip() else None


def _validate_findings(findings: VisitFindings) -> VisitFindings:
    for check in FINDING_CHECKS:
        if getattr(findings, check) not in get_args(FindingCheck):
            raise InvalidValue("a finding must be ok, problem or not_checked", field=check)
    return msgspec.structs.replace(findings, notes=_notes(findings.notes))


def _validate_needs(needs: tuple[str, ...]) -> tuple[str, ...]:
    unique = tuple(dict.fromkeys(validate_text(n, field="needs", max_len=50) for n in needs))
    if len(unique) > _MAX_NEEDS:
        raise InvalidValue(f"at most {_MAX_NEEDS} needs", field="needs")
    return unique


def _check_choice(value: str, choices: tuple[str, ...], field: str) -> None:
    if value not in choices:
        raise InvalidValue(f"unknown {field}", field=field, value=value)


class Visit(Aggregate):
    """One visit to one household."""

    class Recorded(Aggregate.Created):
        household_id: UUID
        grid_id: UUID
        purpose: VisitPurpose
        method: VisitMethod
        visited_at: datetime
        findings: VisitFindings
        needs: tuple[str, ...]
        gps: Gps | None
        photos: tuple[str, ...]
        follow_up_case_ids: tuple[UUID, ...]
        meta: EventMeta

    class Amended(Aggregate.Event):
        notes: str | None
        needs: tuple[str, ...]
        meta: EventMeta

    class Voided(Aggregate.Event):
        reason: str
        meta: EventMeta

    @classmethod
    def record(
        cls,
        *,
        visit_id: UUID,
        household_id: UUID,
        grid_id: UUID,
        purpose: VisitPurpose,
        method: VisitMethod,
        visited_at: datetime,
        findings: VisitFindings,
        meta: EventMeta,
        needs: tuple[str, ...] = (),
        gps: Gps | None = None,
        photos: tuple[str, ...] = (),
        follow_up_case_ids: tuple[UUID, ...] = (),
    ) -> Self:
        """Record a visit under the phone's id (idempotent re-sends)."""
        _check_choice(purpose, get_args(VisitPurpose), "purpose")
        _check_choice(method, get_args(VisitMethod), "method")
        return cls(
            id=visit_id, household_id=household_id, grid_id=grid_id, purpose=purpose,
            method=method, visited_at=ensure_aware(visited_at, field="visited_at"),
            findings=_validate_findings(findings), needs=_validate_needs(needs),
            gps=validate_gps(gps), photos=validate_photos(photos),
            follow_up_case_ids=tuple(dict.fromkeys(follow_up_case_ids)), meta=meta,
        )  # fmt: skip

    @event(Recorded)
    def __init__(
        self,
        id: UUID,  # eventsourcing passes the caller's id under this exact name
        household_id: UUID,
        grid_id: UUID,
        purpose: VisitPurpose,
        method: VisitMethod,
        visited_at: datetime,
        findings: VisitFindings,
        needs: tuple[str, ...],
        gps: Gps | None,
        photos: tuple[str, ...],
        follow_up_case_ids: tuple[UUID, ...],
        meta: EventMeta,
    ) -> None:
        self.household_id, self.grid_id = household_id, grid_id
        self.purpose, self.method, self.visited_at = purpose, method, visited_at
        self.findings, self.needs, self.gps = findings, needs, gps
        self.photos, self.follow_up_case_ids = photos, follow_up_case_ids
        self.revisions: list[VisitRevision] = []
        self.voided = False
        self.recorded_by = meta.actor_id  # whom an award for this visit may go to

    # -- queries ---------------------------------------------------------------------------

    @property
    def state(self) -> Literal["recorded", "voided"]:
        return "voided" if self.voided else "recorded"

    def allowed_actions(self) -> tuple[str, ...]:
        return () if self.voided else ("amend", "void")

    # -- commands --------------------------------------------------------------------------

    def amend(
        self, *, meta: EventMeta, notes: str | None = None, needs: tuple[str, ...] | None = None
    ) -> None:
        """Correct notes and/or needs (None keeps a value, ``""`` / ``()`` clears it).

        The previous values stay in :attr:`revisions` and the log; an amendment that changes
        nothing is a no-op.
        """
        self._check_open("amend")
        new_notes = self.findings.notes if notes is None else _notes(notes)
        new_needs = self.needs if needs is None else _validate_needs(needs)
        if (new_notes, new_needs) != (self.findings.notes, self.needs):
            self._amended(notes=new_notes, needs=new_needs, meta=meta)

    def void(self, reason: str, *, meta: EventMeta) -> None:
        """Mark the visit as recorded by mistake; it stays in the log."""
        self._check_open("void")
        self._voided(reason=validate_text(reason, field="reason", max_len=200), meta=meta)

    def _check_open(self, action: str) -> None:
        if self.voided:
            raise InvalidTransition(
                "visit is voided",
                state=self.state,
                action=action,
                allowed=list(self.allowed_actions()),
            )

    # -- event appliers (also run on replay: no validation here) ----------------------------

    @event(Amended)
    def _amended(self, notes: str | None, needs: tuple[str, ...], meta: EventMeta) -> None:
        self.revisions.append(VisitRevision(notes=self.findings.notes, needs=self.needs))
        self.findings = msgspec.structs.replace(self.findings, notes=notes)
        self.needs = needs

    @event(Voided)
    def _voided(self, reason: str, meta: EventMeta) -> None:
        self.voided = True
