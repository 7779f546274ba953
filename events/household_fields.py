"""Value types and field rules of the household ledger (一户一档).

Edits address fields by *path*: household-level ``address``, ``phone``, ``notes``,
``house_type`` and person-level ``persons/<uuid>/<field>``. Values travel as ``str | None``
(dates as ISO ``YYYY-MM-DD``) so an offline edit, a conflict and its resolution all have the
same simple, encodable shape.
"""

from collections.abc import Callable
from datetime import date
from typing import Final, Literal, get_args
from uuid import UUID

import msgspec

from events.errors import InvalidValue, NotFound
from events.meta import EventMeta
from events.sensitivity import PERSON_TAGS
from events.validation import (
    validate_id_number,
    validate_mobile,
    validate_text,
    validate_work_phone,
)

__all__ = [
    "HEAD",
    "HOUSEHOLD_PATHS",
    "PERSON_PATH_FIELDS",
    "Conflict",
    "FieldChange",
    "Gender",
    "GridAssignment",
    "PersonRecord",
    "Relation",
    "RemovalReason",
    "check_persons",
    "get_person",
    "normalise_changes",
    "person_path",
    "person_value",
    "persons_after",
    "split_path",
    "validate_household_no",
    "validate_household_value",
    "validate_members",
    "validate_person",
    "validate_person_value",
    "validate_tag",
    "with_person_value",
]

Gender = Literal["male", "female", "unknown"]
Relation = Literal["户主", "配偶", "子女", "父母", "孙子女", "兄弟姐妹", "其他"]
RemovalReason = Literal["deceased", "moved_out", "other"]
HEAD: Final = "户主"
HOUSEHOLD_PATHS: Final = ("address", "phone", "notes", "house_type")
PERSON_PATH_FIELDS: Final = ("name", "phone", "id_number", "birth_date", "relation", "gender")
_MAX_LEN: Final[dict[str, int]] = {"address": 200, "notes": 1000, "house_type": 32, "name": 64}


class PersonRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One member of a household. ``tags`` are codes from ``PERSON_TAGS``."""

    person_id: UUID
    name: str
    gender: Gender
    birth_date: date | None
    id_number: str | None
    phone: str | None
    relation: Relation
    tags: tuple[str, ...] = ()


class FieldChange(msgspec.Struct, frozen=True, kw_only=True):
    """One proposed edit; ``value=None`` clears an optional field."""

    path: str
    value: str | None


class Conflict(msgspec.Struct, frozen=True, kw_only=True):
    """An edit that raced a newer change; waits for a supervisor's resolution."""

    conflict_id: UUID
    path: str
    base_version: int
    current_value: str | None
    proposed_value: str | None
    proposer: EventMeta
    resolved: bool = False
    resolved_value: str | None = None


class GridAssignment(msgspec.Struct, frozen=True, kw_only=True):
    """The household belongs to ``grid_id`` from ``effective_from`` on."""

    grid_id: UUID
    effective_from: date


def validate_household_no(household_no: str) -> str:
    return validate_text(household_no, field="household_no", max_len=40)


def validate_tag(tag: str) -> str:
    if tag not in PERSON_TAGS:
        raise InvalidValue("unknown tag", field="tag", value=tag)
    return tag


def person_path(person_id: UUID, field: str) -> str:
    return f"persons/{person_id}/{field}"


def split_path(path: str) -> tuple[UUID | None, str]:
    """``address`` → (None, "address"); ``persons/<uuid>/name`` → (uuid, "name")."""
    if path in HOUSEHOLD_PATHS:
        return None, path
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == "persons" and parts[2] in PERSON_PATH_FIELDS:
        try:
            return UUID(parts[1]), parts[2]
        except ValueError:
            pass
    raise InvalidValue("unknown path", field="path", path=path)


def validate_household_value(field: str, value: str | None) -> str | None:
    """Normalise a household-level value; only ``address`` is required."""
    if value is None or (field != "address" and not value.strip()):
        if field == "address":
            raise InvalidValue("address is required", field=field)
        return None
    if field == "phone":
        # A household's contact may be its landline (0579-85123456); persons' phones are mobiles.
        return validate_work_phone(value)
    return validate_text(value, field=field, max_len=_MAX_LEN[field])


def validate_person_value(field: str, value: str | None) -> str | None:
    """Normalise a person-level value given as text."""
    if value is None or not value.strip():
        if field in ("name", "relation", "gender"):
            raise InvalidValue(f"{field} is required", field=field)
        return None
    return _PERSON_VALIDATORS[field](value)


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidValue("date must be YYYY-MM-DD", field="birth_date") from None


def _one_of(value: str, field: str, allowed: tuple[str, ...]) -> str:
    if value.strip() not in allowed:
        raise InvalidValue(f"unknown {field}", field=field, value=value)
    return value.strip()


_PERSON_VALIDATORS: Final[dict[str, Callable[[str], str]]] = {
    "name": lambda v: validate_text(v, field="name", max_len=_MAX_LEN["name"]),
    "phone": validate_mobile,
    "id_number": validate_id_number,
    "birth_date": lambda v: _parse_date(v).isoformat(),
    "relation": lambda v: _one_of(v, "relation", get_args(Relation)),
    "gender": lambda v: _one_of(v, "gender", get_args(Gender)),
}


def person_value(person: PersonRecord, field: str) -> str | None:
    """A person field as text (the shape used by paths and conflicts)."""
    if field == "birth_date":
        return person.birth_date.isoformat() if person.birth_date else None
    value: str | None = getattr(person, field)
    return value


def with_person_value(person: PersonRecord, field: str, value: str | None) -> PersonRecord:
    """A copy with one field set from its text form (value already validated)."""
    if field == "birth_date":
        return msgspec.structs.replace(person, birth_date=_parse_date(value) if value else None)
    return msgspec.structs.replace(person, **{field: value})


def validate_person(person: PersonRecord) -> PersonRecord:
    """Normalise every field of a person record and validate its tags."""
    fields = {f: validate_person_value(f, person_value(person, f)) for f in PERSON_PATH_FIELDS}
    for tag in person.tags:
        validate_tag(tag)
    normalised = person
    for field, value in fields.items():
        normalised = with_person_value(normalised, field, value)
    return msgspec.structs.replace(normalised, tags=tuple(dict.fromkeys(person.tags)))


def validate_members(persons: tuple[PersonRecord, ...]) -> tuple[PersonRecord, ...]:
    """Normalise a registration's members and check the household invariants."""
    members = tuple(validate_person(p) for p in persons)
    by_id = {p.person_id: p for p in members}
    if len(by_id) != len(members):
        raise InvalidValue("a person_id appears twice", field="persons")
    check_persons(by_id)
    return members


def check_persons(persons: dict[UUID, PersonRecord]) -> None:
    """Household invariants: exactly one 户主 and no ID number twice."""
    heads = sum(1 for p in persons.values() if p.relation == HEAD)
    if heads != 1:
        raise InvalidValue("a household needs exactly one 户主", field="relation", heads=heads)
    numbers = [p.id_number for p in persons.values() if p.id_number]
    if len(numbers) != len(set(numbers)):
        raise InvalidValue("an id_number appears twice in the household", field="id_number")


def get_person(persons: dict[UUID, PersonRecord], person_id: UUID, path: str) -> PersonRecord:
    """A current member or NotFound (removed members are gone for edits)."""
    person = persons.get(person_id)
    if person is None:
        raise NotFound("no such person in this household", path=path)
    return person


def normalise_changes(
    changes: tuple[FieldChange, ...], persons: dict[UUID, PersonRecord]
) -> list[FieldChange]:
    """Validate paths and values; a path may appear only once per update."""
    if len({c.path for c in changes}) != len(changes):
        raise InvalidValue("a path appears twice in one update", field="changes")
    out = []
    for change in changes:
        person_id, field = split_path(change.path)
        if person_id is None:
            value = validate_household_value(field, change.value)
        elif person_id not in persons:
            # A removed or never-seen member: the path does not exist in this household.
            raise InvalidValue("unknown path", field="path", path=change.path)
        else:
            value = validate_person_value(field, change.value)
        out.append(FieldChange(path=change.path, value=value))
    return out


def persons_after(
    persons: dict[UUID, PersonRecord], changes: tuple[FieldChange, ...]
) -> dict[UUID, PersonRecord]:
    """The members as they would be after ``changes`` (for invariant checks)."""
    result = dict(persons)
    for change in changes:
        person_id, field = split_path(change.path)
        if person_id is not None:
            result[person_id] = with_person_value(result[person_id], field, change.value)
    return result
