"""Wire types of the household endpoints (kept apart from the domain's events)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

import msgspec

from backend.http.wire import RequestBody
from events.household_fields import FieldChange, PersonRecord

__all__ = [
    "AddPerson",
    "DissolveHousehold",
    "HouseholdFileView",
    "HouseholdPage",
    "MoveHousehold",
    "NewPerson",
    "RegisterHousehold",
    "RemovePerson",
    "ResolveConflict",
    "TagPerson",
    "UpdateHousehold",
    "UpdateResult",
    "file_view",
    "to_record",
]

Gender = Literal["male", "female", "unknown"]
Relation = Literal["户主", "配偶", "子女", "父母", "孙子女", "兄弟姐妹", "其他"]
Text64 = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Value = Annotated[str, msgspec.Meta(max_length=1000)]


class NewPerson(RequestBody):
    name: Text64
    gender: Gender
    relation: Relation
    birth_date: date | None = None
    id_number: Annotated[str, msgspec.Meta(max_length=18)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    tags: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(max_length=20)
    ] = []
    person_id: UUID | None = None


AddPerson = NewPerson


class RegisterHousehold(RequestBody):
    household_no: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    grid_id: UUID
    address: Text200
    persons: Annotated[list[NewPerson], msgspec.Meta(min_length=1, max_length=30)]
    phone: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    house_type: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    notes: Value | None = None
    effective_from: date | None = None


class Change(RequestBody):
    path: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    value: Value | None


class UpdateHousehold(RequestBody):
    base_version: Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)]
    changes: Annotated[list[Change], msgspec.Meta(min_length=1, max_length=50)]
    client_time: datetime | None = None


class ResolveConflict(RequestBody):
    value: Value | None


class RemovePerson(RequestBody):
    reason: Literal["deceased", "moved_out", "other"]


class TagPerson(RequestBody):
    tag: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class MoveHousehold(RequestBody):
    grid_id: UUID
    effective_from: date | None = None


class DissolveHousehold(RequestBody):
    reason: Text200
    effective_from: date | None = None


class PersonView(msgspec.Struct, kw_only=True):
    person_id: UUID
    name: str
    gender: str
    relation: str
    birth_date: date | None = None
    id_number: str | None = None
    phone: str | None = None
    tags: list[str] = []


class ConflictView(msgspec.Struct, kw_only=True):
    conflict_id: UUID
    path: str
    base_version: int
    current_value: str | None
    proposed_value: str | None
    proposer_id: UUID | None
    proposer_role: str
    recorded_at: datetime
    resolved: bool
    resolved_value: str | None


class GridPeriodView(msgspec.Struct, kw_only=True):
    grid_id: UUID
    effective_from: date


class HistoryEntry(msgspec.Struct, kw_only=True):
    version: int
    kind: str
    at: datetime
    actor_id: UUID | None
    role: str
    device_id: str
    client_time: datetime | None
    paths: list[str] | None = None
    path: str | None = None
    person_id: UUID | None = None
    persons: int | None = None
    reason: str | None = None
    grid_id: UUID | None = None


class HouseholdFileView(msgspec.Struct, kw_only=True):
    id: UUID
    household_no: str
    grid_id: UUID
    address: str | None
    phone: str | None
    house_type: str | None
    notes: str | None
    status: str
    version: int
    registered_at: datetime
    persons: list[PersonView]
    removed: dict[str, str]
    conflicts: list[ConflictView]
    grid_history: list[GridPeriodView]
    history: list[HistoryEntry]
    dissolved_on: date | None = None


class HouseholdPage(msgspec.Struct, kw_only=True):
    total: int
    limit: int
    offset: int
    items: list[HouseholdFileView]


class UpdateResult(msgspec.Struct, kw_only=True):
    household: HouseholdFileView
    conflict_ids: list[UUID]


def file_view(doc: dict[str, Any]) -> HouseholdFileView:
    return msgspec.convert(doc, HouseholdFileView, strict=False)


def to_record(person: NewPerson) -> PersonRecord:
    return PersonRecord(
        person_id=person.person_id or uuid4(),
        name=person.name,
        gender=person.gender,
        birth_date=person.birth_date,
        id_number=person.id_number,
        phone=person.phone,
        relation=person.relation,
        tags=tuple(person.tags),
    )


def to_changes(changes: list[Change]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(path=c.path, value=c.value) for c in changes)
