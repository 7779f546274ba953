"""Event payload types of the ``Household`` aggregate.

Declared here to keep ``household.py`` readable; ``Household`` re-binds each class in its body,
and eventsourcing redefines them there as ``Household.<Name>`` (that is their stored topic,
e.g. ``events.household:Household.FieldsUpdated``). Every field is msgspec-encodable.
"""

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from events.household_fields import FieldChange, PersonRecord, RemovalReason
from events.meta import EventMeta

__all__ = [
    "ConflictRecorded",
    "ConflictResolved",
    "Dissolved",
    "FieldsUpdated",
    "MovedToGrid",
    "PersonAdded",
    "PersonRemoved",
    "PersonTagged",
    "PersonUntagged",
    "Registered",
]


class Registered(Aggregate.Created):
    household_no: str
    grid_id: UUID
    address: str
    phone: str | None
    house_type: str | None
    notes: str | None
    persons: tuple[PersonRecord, ...]
    effective_from: date
    meta: EventMeta


class FieldsUpdated(Aggregate.Event):
    changes: tuple[FieldChange, ...]
    base_version: int
    meta: EventMeta


class ConflictRecorded(Aggregate.Event):
    conflict_id: UUID
    path: str
    base_version: int
    current_value: str | None
    proposed_value: str | None
    meta: EventMeta


class ConflictResolved(Aggregate.Event):
    conflict_id: UUID
    path: str
    value: str | None
    meta: EventMeta


class PersonAdded(Aggregate.Event):
    person: PersonRecord
    meta: EventMeta


class PersonRemoved(Aggregate.Event):
    person_id: UUID
    reason: RemovalReason
    meta: EventMeta


class PersonTagged(Aggregate.Event):
    person_id: UUID
    tag: str
    meta: EventMeta


class PersonUntagged(Aggregate.Event):
    person_id: UUID
    tag: str
    meta: EventMeta


class MovedToGrid(Aggregate.Event):
    grid_id: UUID
    effective_from: date
    meta: EventMeta


class Dissolved(Aggregate.Event):
    reason: str
    effective_from: date
    meta: EventMeta
