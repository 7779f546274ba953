"""Household aggregate (一户一档) with field-level merge of offline edits (DESIGN §4).

The id derives from the household number (户编号), so re-importing a ledger hits the same
aggregate instead of duplicating it. ``update`` carries the version the phone last saw:

* a path not changed since ``base_version`` is applied;
* a path changed since then is a conflict *only if* the proposed value differs from the
  current one (two people writing the same fact agree) — a ``ConflictRecorded`` event waits
  for a supervisor, the newer value stays;
* a value equal to the current one is a no-op.

Tags are set-like (tag/untag commute), so they are not versioned and never conflict.
Invariants (exactly one 户主, unique ID numbers) are checked on the state an update would
produce; an update that would break them is rejected as a whole.
"""

from datetime import date
from typing import Final, Self
from uuid import UUID, uuid5

import msgspec
from eventsourcing.domain import Aggregate, event

from events import household_events
from events.errors import InvalidTransition, InvalidValue, NotFound, StaleBaseVersion
from events.household_fields import (
    Conflict,
    FieldChange,
    GridAssignment,
    PersonRecord,
    RemovalReason,
    check_persons,
    get_person,
    normalise_changes,
    person_value,
    persons_after,
    split_path,
    validate_household_no,
    validate_household_value,
    validate_members,
    validate_person,
    validate_tag,
    with_person_value,
)
from events.meta import EventMeta
from events.validation import ensure_not_before, validate_text

__all__ = ["HOUSEHOLD_NAMESPACE", "Household"]

HOUSEHOLD_NAMESPACE: Final = UUID("0c9a7e51-4f3b-5d2a-9e8c-7b6a5d4c3b2a")


class Household(Aggregate):
    """One household file: address, contacts, members and their tags, grid history."""

    Registered = household_events.Registered
    FieldsUpdated = household_events.FieldsUpdated
    ConflictRecorded = household_events.ConflictRecorded
    ConflictResolved = household_events.ConflictResolved
    PersonAdded = household_events.PersonAdded
    PersonRemoved = household_events.PersonRemoved
    PersonTagged = household_events.PersonTagged
    PersonUntagged = household_events.PersonUntagged
    MovedToGrid = household_events.MovedToGrid
    Dissolved = household_events.Dissolved

    @staticmethod
    def create_id(household_no: str) -> UUID:
        """eventsourcing hook: the id derives from the household number."""
        return uuid5(HOUSEHOLD_NAMESPACE, "household:" + household_no)

    @classmethod
    def id_for_number(cls, household_no: str) -> UUID:
        return cls.create_id(validate_household_no(household_no))

    @classmethod
    def register(
        cls,
        *,
        household_no: str,
        grid_id: UUID,
        address: str,
        phone: str | None,
        persons: tuple[PersonRecord, ...],
        effective_from: date,
        meta: EventMeta,
        house_type: str | None = None,
        notes: str | None = None,
    ) -> Self:
        """Register a household with its members (exactly one 户主)."""
        members = validate_members(persons)
        return cls(
            household_no=validate_household_no(household_no),
            grid_id=grid_id,
            address=validate_text(address, field="address", max_len=200),
            phone=validate_household_value("phone", phone),
            house_type=validate_household_value("house_type", house_type),
            notes=validate_household_value("notes", notes),
            persons=members,
            effective_from=effective_from,
            meta=meta,
        )

    @event(Registered)
    def __init__(
        self,
        household_no: str,
        grid_id: UUID,
        address: str,
        phone: str | None,
        house_type: str | None,
        notes: str | None,
        persons: tuple[PersonRecord, ...],
        effective_from: date,
        meta: EventMeta,
    ) -> None:
        self.household_no = household_no
        self.fields: dict[str, str | None] = {
            "address": address,
            "phone": phone,
            "house_type": house_type,
            "notes": notes,
        }
        self.persons = {p.person_id: p for p in persons}
        self.removed: dict[UUID, RemovalReason] = {}
        self.path_versions: dict[str, int] = {}
        self.conflicts: dict[UUID, Conflict] = {}
        self.history = [GridAssignment(grid_id=grid_id, effective_from=effective_from)]
        self.dissolved = False

    # -- queries ---------------------------------------------------------------------------

    @property
    def grid_id(self) -> UUID:
        return self.history[-1].grid_id

    @property
    def address(self) -> str | None:
        return self.fields["address"]

    @property
    def open_conflicts(self) -> list[Conflict]:
        return [c for c in self.conflicts.values() if not c.resolved]

    def grid_on(self, day: date) -> UUID | None:
        """The grid the household belonged to on ``day`` (None before registration)."""
        entry = next((h for h in reversed(self.history) if h.effective_from <= day), None)
        return entry.grid_id if entry else None

    def current_value(self, path: str) -> str | None:
        """The current value at ``path`` as text; unknown paths raise InvalidValue."""
        person_id, field = split_path(path)
        if person_id is None:
            return self.fields[field]
        return person_value(self._person(person_id, path), field)

    # -- commands --------------------------------------------------------------------------

    def update(
        self, changes: tuple[FieldChange, ...], base_version: int, *, meta: EventMeta
    ) -> tuple[UUID, ...]:
        """Apply or merge an edit based on ``base_version``; returns recorded conflict ids."""
        self._check_active()
        if not 1 <= base_version <= self.version:
            raise StaleBaseVersion(
                "base_version is not a version of this household",
                base_version=base_version,
                current_version=self.version,
            )
        applied, conflicting = self._split_changes(
            normalise_changes(changes, self.persons), base_version
        )
        if applied:
            check_persons(persons_after(self.persons, applied))
            self._fields_updated(changes=applied, base_version=base_version, meta=meta)
        return tuple(self._record_conflict(c, base_version, meta) for c in conflicting)

    def resolve_conflict(self, conflict_id: UUID, value: str | None, *, meta: EventMeta) -> None:
        """A supervisor picks the value for a conflicted path; it is applied as chosen."""
        self._check_active()
        conflict = self.conflicts.get(conflict_id)
        if conflict is None:
            raise NotFound("no such conflict", conflict_id=str(conflict_id))
        if conflict.resolved:
            raise InvalidTransition("conflict is already resolved", state="resolved")
        (change,) = normalise_changes((FieldChange(path=conflict.path, value=value),), self.persons)
        check_persons(persons_after(self.persons, (change,)))
        self._conflict_resolved(
            conflict_id=conflict_id, path=change.path, value=change.value, meta=meta
        )

    def add_person(self, person: PersonRecord, *, meta: EventMeta) -> None:
        self._check_active()
        if person.person_id in self.persons or person.person_id in self.removed:
            raise InvalidValue("person_id already used in this household", field="person_id")
        person = validate_person(person)
        check_persons({**self.persons, person.person_id: person})
        self._person_added(person=person, meta=meta)

    def remove_person(self, person_id: UUID, reason: RemovalReason, *, meta: EventMeta) -> None:
        """Remove a member (deceased, moved out); the 户主 must be replaced first."""
        self._check_active()
        self._person(person_id, "person_id")
        if reason not in ("deceased", "moved_out", "other"):
            raise InvalidValue("unknown removal reason", field="reason", value=reason)
        check_persons({k: v for k, v in self.persons.items() if k != person_id})
        self._person_removed(person_id=person_id, reason=reason, meta=meta)

    def tag_person(self, person_id: UUID, tag: str, *, meta: EventMeta) -> None:
        """Add a tag; tagging twice is a no-op."""
        self._check_active()
        if validate_tag(tag) not in self._person(person_id, "person_id").tags:
            self._person_tagged(person_id=person_id, tag=tag, meta=meta)

    def untag_person(self, person_id: UUID, tag: str, *, meta: EventMeta) -> None:
        """Remove a tag; removing an absent tag is a no-op."""
        self._check_active()
        if validate_tag(tag) in self._person(person_id, "person_id").tags:
            self._person_untagged(person_id=person_id, tag=tag, meta=meta)

    def move_to_grid(self, grid_id: UUID, effective_from: date, *, meta: EventMeta) -> None:
        """Reassign to another grid from ``effective_from``; the same grid is a no-op."""
        self._check_active()
        ensure_not_before(effective_from, self.history[-1].effective_from)
        if grid_id != self.grid_id:
            self._moved_to_grid(grid_id=grid_id, effective_from=effective_from, meta=meta)

    def dissolve(self, reason: str, effective_from: date, *, meta: EventMeta) -> None:
        """Close the file (户销户); final."""
        self._check_active()
        ensure_not_before(effective_from, self.history[-1].effective_from)
        reason = validate_text(reason, field="reason", max_len=200)
        self._dissolved(reason=reason, effective_from=effective_from, meta=meta)

    # -- command helpers -------------------------------------------------------------------

    def _check_active(self) -> None:
        if self.dissolved:
            raise InvalidTransition("household is dissolved", state="dissolved")

    def _person(self, person_id: UUID, path: str) -> PersonRecord:
        return get_person(self.persons, person_id, path)

    def _split_changes(
        self, changes: list[FieldChange], base_version: int
    ) -> tuple[tuple[FieldChange, ...], list[FieldChange]]:
        """(to apply, conflicting); values equal to the current one are dropped."""
        effective = [c for c in changes if c.value != self.current_value(c.path)]
        conflicting = [c for c in effective if self.path_versions.get(c.path, 0) > base_version]
        applied = tuple(c for c in effective if c not in conflicting)
        return applied, conflicting

    def _record_conflict(self, change: FieldChange, base_version: int, meta: EventMeta) -> UUID:
        # Keyed by the version of the ConflictRecorded event itself: unique and replay-stable.
        conflict_id = uuid5(HOUSEHOLD_NAMESPACE, f"{self.id}:{change.path}:{self.version + 1}")
        self._conflict_recorded(
            conflict_id=conflict_id,
            path=change.path,
            base_version=base_version,
            current_value=self.current_value(change.path),
            proposed_value=change.value,
            meta=meta,
        )
        return conflict_id

    # -- event appliers (also run on replay: no validation here) ----------------------------

    def _set(self, path: str, value: str | None) -> None:
        person_id, field = split_path(path)
        if person_id is None:
            self.fields[field] = value
        else:
            self.persons[person_id] = with_person_value(self.persons[person_id], field, value)
        # The applier runs before eventsourcing bumps the version: this event is version + 1.
        self.path_versions[path] = self.version + 1

    @event(FieldsUpdated)
    def _fields_updated(
        self, changes: tuple[FieldChange, ...], base_version: int, meta: EventMeta
    ) -> None:
        for change in changes:
            self._set(change.path, change.value)

    @event(ConflictRecorded)
    def _conflict_recorded(
        self,
        conflict_id: UUID,
        path: str,
        base_version: int,
        current_value: str | None,
        proposed_value: str | None,
        meta: EventMeta,
    ) -> None:
        self.conflicts[conflict_id] = Conflict(
            conflict_id=conflict_id,
            path=path,
            base_version=base_version,
            current_value=current_value,
            proposed_value=proposed_value,
            proposer=meta,
        )

    @event(ConflictResolved)
    def _conflict_resolved(
        self, conflict_id: UUID, path: str, value: str | None, meta: EventMeta
    ) -> None:
        self._set(path, value)
        self.conflicts[conflict_id] = msgspec.structs.replace(
            self.conflicts[conflict_id], resolved=True, resolved_value=value
        )

    @event(PersonAdded)
    def _person_added(self, person: PersonRecord, meta: EventMeta) -> None:
        self.persons[person.person_id] = person

    @event(PersonRemoved)
    def _person_removed(self, person_id: UUID, reason: RemovalReason, meta: EventMeta) -> None:
        del self.persons[person_id]
        self.removed[person_id] = reason

    @event(PersonTagged)
    def _person_tagged(self, person_id: UUID, tag: str, meta: EventMeta) -> None:
        person = self.persons[person_id]
        self.persons[person_id] = msgspec.structs.replace(person, tags=(*person.tags, tag))

    @event(PersonUntagged)
    def _person_untagged(self, person_id: UUID, tag: str, meta: EventMeta) -> None:
        person = self.persons[person_id]
        tags = tuple(t for t in person.tags if t != tag)
        self.persons[person_id] = msgspec.structs.replace(person, tags=tags)

    @event(MovedToGrid)
    def _moved_to_grid(self, grid_id: UUID, effective_from: date, meta: EventMeta) -> None:
        self.history.append(GridAssignment(grid_id=grid_id, effective_from=effective_from))

    @event(Dissolved)
    def _dissolved(self, reason: str, effective_from: date, meta: EventMeta) -> None:
        self.dissolved = True
