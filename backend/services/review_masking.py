"""Held pushed events as their reader may see them (privacy rules 3 and 4).

The review queue shows what a phone pushed before it is applied. Its payload is masked as the
records it would change are masked for the reader: a held household edit like the file's
conflicts, a held registration like the file itself, and in any payload a phone or an ID
number as in every list (138****1234), a resident contact's name as in a case for review
roles. Nothing is dropped: a reviewer still sees which fields an event carries, and reveals a
full value through the audited path when a decision needs it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from backend.services.households import NEED_TO_KNOW_ROLES
from events.privacy import REVIEW_ROLES, mask_id_number, mask_name, mask_person, mask_phone
from projections.household_files import masked_value

__all__ = ["masked_receipt"]

_PHONE_KEYS = frozenset({"phone", "contact_phone"})


def masked_receipt(
    row: dict[str, Any], *, role: str, doc: dict[str, Any] | None, on: date
) -> dict[str, Any]:
    """The receipt ``row`` with its pushed payload masked for ``role``; ``doc`` is the file of
    the household a ``household.edited`` event names (``None`` when not known yet)."""
    body = row["body"]
    payload = body.get("payload")
    if not isinstance(payload, dict):
        return row
    need_to_know = role in NEED_TO_KNOW_ROLES
    kind = row["event_type"]
    if kind == "household.edited":
        payload = _edit(payload, doc, role=role, need_to_know=need_to_know, on=on)
    elif kind == "household.registered":
        payload = _registration(payload, role=role, need_to_know=need_to_know, on=on)
    masked = _mask_keys(payload, review=role in REVIEW_ROLES)
    return {**row, "body": {**body, "payload": masked}}


def _edit(
    payload: dict[str, Any], doc: dict[str, Any] | None, *, role: str, need_to_know: bool, on: date
) -> dict[str, Any]:
    changes = payload.get("changes")
    if not isinstance(changes, list):
        return payload

    def one(change: Any) -> Any:
        if not isinstance(change, dict) or not isinstance(change.get("path"), str):
            return change
        value = masked_value(
            doc, change["path"], change.get("value"), role=role, need_to_know=need_to_know, on=on
        )
        return {**change, "value": value}

    return {**payload, "changes": [one(c) for c in changes]}


def _registration(
    payload: dict[str, Any], *, role: str, need_to_know: bool, on: date
) -> dict[str, Any]:
    persons = payload.get("persons")
    contact = {k: payload[k] for k in ("phone", "address") if isinstance(payload.get(k), str)}
    out = {**payload, **mask_person(contact, role=role, need_to_know=need_to_know, on=on)}
    if isinstance(persons, list):
        out["persons"] = [
            _person(p, role=role, need_to_know=need_to_know, on=on) if isinstance(p, dict) else p
            for p in persons
        ]
    return out


def _person(person: dict[str, Any], *, role: str, need_to_know: bool, on: date) -> dict[str, Any]:
    try:
        shown = mask_person(person, role=role, need_to_know=need_to_know, on=on)
    except ValueError:  # a birth date that is not one: as strictly as for a child
        strict = {**person, "birth_date": on.isoformat()}
        shown = mask_person(strict, role=role, need_to_know=False, on=on)
    return {**person, **shown}


def _mask_keys(value: Any, *, review: bool) -> Any:
    """Phones and ID numbers wherever they sit in a payload; contacts' names for review."""
    if isinstance(value, list):
        return [_mask_keys(v, review=review) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, str) and key in _PHONE_KEYS:
            out[key] = mask_phone(item)
        elif isinstance(item, str) and key == "id_number":
            out[key] = mask_id_number(item)
        elif isinstance(item, str) and key == "contact_name" and review:
            out[key] = mask_name(item)
        else:
            out[key] = _mask_keys(item, review=review)
    return out
