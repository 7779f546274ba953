"""The household file (一户一档) as a JSON document, folded event by event.

Pure: no database. The fold mirrors the ``Household`` aggregate's appliers on a plain dict so
that the projection can store the whole file in one ``jsonb`` column and rebuild it in batches
without replaying each household's stream. The document keeps raw values; masking for a role
happens when it is read (``household_files.masked_file``), never at rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["fold_household", "new_household_doc"]

Doc = dict[str, Any]


def _plain(value: Any) -> Any:
    # Through JSON, so a document folded in memory has exactly the shape (lists, ISO dates) of
    # one loaded back from the jsonb column: a batch may register and then tag a person.
    return msgspec.json.decode(msgspec.json.encode(value))


def _trail(doc: Doc, e: Any, kind: str, **summary: Any) -> None:
    meta = e.meta
    doc["history"].append(
        {
            "version": e.originator_version,
            "kind": kind,
            "at": e.timestamp.isoformat(),
            "actor_id": str(meta.actor_id) if meta.actor_id else None,
            "role": meta.role,
            "device_id": meta.device_id,
            "client_time": meta.client_time.isoformat() if meta.client_time else None,
            **summary,
        }
    )


def new_household_doc(e: Any) -> Doc:
    persons = {str(p.person_id): _plain(p) for p in e.persons}
    doc: Doc = {
        "id": str(e.originator_id),
        "household_no": e.household_no,
        "grid_id": str(e.grid_id),
        "address": e.address,
        "phone": e.phone,
        "house_type": e.house_type,
        "notes": e.notes,
        "status": "active",
        "persons": persons,
        "removed": {},
        "conflicts": [],
        "grid_history": [
            {"grid_id": str(e.grid_id), "effective_from": e.effective_from.isoformat()}
        ],
        "history": [],
        "registered_at": e.timestamp.isoformat(),
    }
    _trail(doc, e, "registered", persons=len(persons))
    doc["version"] = e.originator_version
    return doc


def _set_path(doc: Doc, path: str, value: str | None) -> None:
    parts = path.split("/")
    if len(parts) == 3:
        doc["persons"][parts[1]][parts[2]] = value
    else:
        doc[path] = value


def _fields_updated(doc: Doc, e: Any) -> None:
    for change in e.changes:
        _set_path(doc, change.path, change.value)
    _trail(doc, e, "fields_updated", paths=[c.path for c in e.changes])


def _conflict_recorded(doc: Doc, e: Any) -> None:
    doc["conflicts"].append(
        {
            "conflict_id": str(e.conflict_id),
            "path": e.path,
            "base_version": e.base_version,
            "current_value": e.current_value,
            "proposed_value": e.proposed_value,
            "proposer_id": str(e.meta.actor_id) if e.meta.actor_id else None,
            "proposer_role": e.meta.role,
            "recorded_at": e.timestamp.isoformat(),
            "resolved": False,
            "resolved_value": None,
        }
    )
    _trail(doc, e, "conflict_recorded", path=e.path)


def _conflict_resolved(doc: Doc, e: Any) -> None:
    _set_path(doc, e.path, e.value)
    for conflict in doc["conflicts"]:
        if conflict["conflict_id"] == str(e.conflict_id):
            conflict.update(resolved=True, resolved_value=e.value)
    _trail(doc, e, "conflict_resolved", path=e.path)


def _person_added(doc: Doc, e: Any) -> None:
    doc["persons"][str(e.person.person_id)] = _plain(e.person)
    _trail(doc, e, "person_added", person_id=str(e.person.person_id))


def _person_removed(doc: Doc, e: Any) -> None:
    doc["persons"].pop(str(e.person_id), None)
    doc["removed"][str(e.person_id)] = e.reason
    _trail(doc, e, "person_removed", person_id=str(e.person_id), reason=e.reason)


def _person_tagged(doc: Doc, e: Any) -> None:
    tags = doc["persons"][str(e.person_id)]["tags"]
    if e.tag not in tags:
        tags.append(e.tag)
    # The tag itself is not written into the trail: the trail is shown to roles that may
    # not know special-population status.
    _trail(doc, e, "person_tagged", person_id=str(e.person_id))


def _person_untagged(doc: Doc, e: Any) -> None:
    person = doc["persons"][str(e.person_id)]
    person["tags"] = [t for t in person["tags"] if t != e.tag]
    _trail(doc, e, "person_untagged", person_id=str(e.person_id))


def _moved(doc: Doc, e: Any) -> None:
    doc["grid_id"] = str(e.grid_id)
    doc["grid_history"].append(
        {"grid_id": str(e.grid_id), "effective_from": e.effective_from.isoformat()}
    )
    _trail(doc, e, "moved_to_grid", grid_id=str(e.grid_id))


def _dissolved(doc: Doc, e: Any) -> None:
    doc["status"] = "dissolved"
    doc["dissolved_on"] = e.effective_from.isoformat()
    _trail(doc, e, "dissolved", reason=e.reason)


_FOLDS: dict[str, Callable[[Doc, Any], None]] = {
    "FieldsUpdated": _fields_updated,
    "ConflictRecorded": _conflict_recorded,
    "ConflictResolved": _conflict_resolved,
    "PersonAdded": _person_added,
    "PersonRemoved": _person_removed,
    "PersonTagged": _person_tagged,
    "PersonUntagged": _person_untagged,
    "MovedToGrid": _moved,
    "Dissolved": _dissolved,
}


def fold_household(doc: Doc, e: Any) -> Doc:
    """Apply one event (not ``Registered``) to the document, in place; returns it."""
    fold = _FOLDS.get(type(e).__name__)
    if fold is not None:
        fold(doc, e)
    doc["version"] = e.originator_version
    return doc
