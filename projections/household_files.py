"""Read model of household files: one row per household, its file as ``jsonb``.

Searchable columns (grid, status, head's name, tags) sit beside the document so that lists
filter on indexes; scope is a join to ``grid_units.path``. The document keeps raw values and
is masked for the reader's role by :func:`masked_file` (privacy rules 3 and 4: mask on the
server, need-to-know for special-population tags).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from events.household_fields import HOUSEHOLD_PATHS, PERSON_PATH_FIELDS
from events.privacy import mask_person
from events.sensitivity import MINOR_AGE
from projections.engine import Recorded
from projections.household_doc import fold_household, new_household_doc

__all__ = ["HouseholdFilesProjection", "get_file", "list_files", "masked_file", "masked_value"]

_PREFIX = "events.household:Household."


class HouseholdFilesProjection:
    name = "household_files"
    tables: tuple[str, ...] = ("household_files",)
    ddl = """
    CREATE TABLE IF NOT EXISTS household_files (
        id uuid PRIMARY KEY,
        household_no text NOT NULL UNIQUE,
        grid_id uuid NOT NULL,
        status text NOT NULL,
        head_name text,
        member_count int NOT NULL,
        tags text[] NOT NULL,
        open_conflicts int NOT NULL,
        doc jsonb NOT NULL,
        version int NOT NULL,
        updated_position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS household_files_grid ON household_files (grid_id, household_no);
    CREATE INDEX IF NOT EXISTS household_files_tags ON household_files USING gin (tags);
    """

    def interested(self, topic: str) -> bool:
        return topic.startswith(_PREFIX)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        # Fold the batch in memory, then write every touched household in one executemany:
        # catching up costs a read and a write per batch, not a statement per household.
        stored = await _load(conn, batch)
        docs: dict[UUID, dict[str, Any]] = {}
        positions: dict[UUID, int] = {}
        for rec in batch:
            e = rec.event
            hid = e.originator_id
            if type(e).__name__ == "Registered":
                docs[hid] = new_household_doc(e)
            else:
                doc = docs.get(hid) or json.loads(stored[hid])
                docs[hid] = fold_household(doc, e)
            positions[hid] = rec.position
        if docs:
            await conn.executemany(_STORE, [_row(doc, positions[h]) for h, doc in docs.items()])


async def _load(conn: asyncpg.Connection, batch: Sequence[Recorded]) -> dict[UUID, str]:
    """The stored files of the households the batch changes (a registration needs none)."""
    changed = list({r.event.originator_id for r in batch
                    if type(r.event).__name__ != "Registered"})  # fmt: skip
    if not changed:
        return {}
    rows = await conn.fetch(
        "SELECT id, doc FROM household_files WHERE id = ANY($1::uuid[])", changed
    )
    return {r["id"]: r["doc"] for r in rows}


def _head_name(doc: dict[str, Any]) -> str | None:
    heads = [p["name"] for p in doc["persons"].values() if p["relation"] == "户主"]
    return heads[0] if heads else None


_STORE = (
    "INSERT INTO household_files (id, household_no, grid_id, status, head_name, "
    "member_count, tags, open_conflicts, doc, version, updated_position) VALUES "
    "($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11) ON CONFLICT (id) DO UPDATE SET "
    "grid_id = $3, status = $4, head_name = $5, member_count = $6, tags = $7, "
    "open_conflicts = $8, doc = $9::jsonb, version = $10, updated_position = $11"
)


def _row(doc: dict[str, Any], position: int) -> tuple[Any, ...]:
    tags = sorted({t for p in doc["persons"].values() for t in p["tags"]})
    open_conflicts = sum(1 for c in doc["conflicts"] if not c["resolved"])
    return (
        UUID(doc["id"]),
        doc["household_no"],
        UUID(doc["grid_id"]),
        doc["status"],
        _head_name(doc),
        len(doc["persons"]),
        tags,
        open_conflicts,
        json.dumps(doc),
        doc["version"],
        position,
    )


async def get_file(
    conn: asyncpg.Pool | asyncpg.Connection, household_id: UUID
) -> dict[str, Any] | None:
    raw = await conn.fetchval("SELECT doc FROM household_files WHERE id = $1", household_id)
    return None if raw is None else dict(json.loads(raw))


# The head is under MINOR_AGE ($8) on day $7 (NULL: the reader sees children's names). Born
# after "day minus N years" is exactly "not yet N on day" (age_on), 29 February included.
_HEAD_IS_MASKED_MINOR = (
    "$7::date IS NOT NULL AND EXISTS (SELECT 1 FROM jsonb_each(h.doc->'persons') p WHERE "
    "p.value->>'relation' = '户主' AND (p.value->>'birth_date')::date > "
    "$7::date - make_interval(years => $8::int))"
)


async def list_files(
    conn: asyncpg.Pool | asyncpg.Connection,
    *,
    scope_unit_id: UUID,
    grid_id: UUID | None,
    status: str | None,
    tag: str | None,
    q: str | None,
    limit: int,
    offset: int,
    search_names: bool,
    minor_heads_masked_on: date | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """``q`` matches the 户编号 exactly; with ``search_names`` also the head's name (prefix) and
    the address (substring). Roles that see names masked must not search them: a hit would
    confirm the unmasked value. For the same reason, when the reader sees children's names
    masked (``minor_heads_masked_on``: the day ages are taken on), a head under 14 on that day
    is not matched by name (child-headed households)."""
    where = (
        "FROM household_files h JOIN grid_units u ON u.id = h.grid_id "
        "WHERE u.path @> ARRAY[$1]::uuid[] AND ($2::uuid IS NULL OR u.path @> ARRAY[$2]"
        "::uuid[]) AND ($3::text IS NULL OR h.status = $3) AND ($4::text IS NULL OR "
        "h.tags @> ARRAY[$4]) AND ($5::text IS NULL OR h.household_no = $5 OR ($6 AND (("
        "starts_with(h.head_name, $5) AND NOT (" + _HEAD_IS_MASKED_MINOR + ")) "
        "OR strpos(h.doc->>'address', $5) > 0)))"
    )
    args = (scope_unit_id, grid_id, status, tag, q, search_names, minor_heads_masked_on, MINOR_AGE)
    total = await conn.fetchval(f"SELECT count(*) {where}", *args)
    rows = await conn.fetch(
        f"SELECT h.doc {where} ORDER BY h.household_no LIMIT $9 OFFSET $10", *args, limit, offset
    )
    return int(total), [dict(json.loads(r["doc"])) for r in rows]


def masked_file(doc: dict[str, Any], *, role: str, need_to_know: bool, on: date) -> dict[str, Any]:
    """The file as ``role`` may see it: persons masked, the household phone too."""
    out = dict(doc)
    out["persons"] = [
        mask_person(p, role=role, need_to_know=need_to_know, on=on)
        for p in sorted(doc["persons"].values(), key=_family_order)
    ]
    masked = mask_person(
        {"phone": doc["phone"], "address": doc["address"]},
        role=role,
        need_to_know=need_to_know,
        on=on,
    )
    out["phone"], out["address"] = masked.get("phone"), masked.get("address")
    out["conflicts"] = [
        _masked_conflict(c, doc, role=role, need_to_know=need_to_know, on=on)
        for c in doc["conflicts"]
    ]
    return out


def _family_order(person: dict[str, Any]) -> tuple[bool, str, str]:
    """户主 first, then the eldest; stable for persons without a birth date."""
    return person["relation"] != "户主", person.get("birth_date") or "9999", person["person_id"]


_CONFLICT_VALUES = ("current_value", "proposed_value", "resolved_value")


def _masked_conflict(
    conflict: dict[str, Any], doc: dict[str, Any], *, role: str, need_to_know: bool, on: date
) -> dict[str, Any]:
    """Conflicting values are masked exactly as the field they race for: a child's name, an
    ID number or (for review roles) an address is no less protected for being contested. The
    resolver sees which field raced and reveals the values through the audited path if
    needed."""
    path = conflict["path"]
    return {
        **conflict,
        **{
            k: masked_value(doc, path, conflict[k], role=role, need_to_know=need_to_know, on=on)
            for k in _CONFLICT_VALUES
        },
    }


def masked_value(
    doc: dict[str, Any] | None,
    path: str,
    value: object,
    *,
    role: str,
    need_to_know: bool,
    on: date,
) -> object:
    """``value`` proposed for ``path`` of the household ``doc`` (``None``: not known yet), as
    ``role`` may see that field in the file (conflicts, held edits in the review queue)."""
    if not isinstance(value, str):
        return value
    parts = path.split("/")
    field = parts[-1]
    person = _person_at(doc, parts, on)
    if field == "birth_date":
        if _withheld(person, role, need_to_know, on):
            return None  # the person's own birth date is withheld: so are proposals for it
        if not _is_date(value):
            return "****"  # a held edit not validated yet; masking must not fail on it
    if field not in (PERSON_PATH_FIELDS if len(parts) == 3 else HOUSEHOLD_PATHS):
        return "****"  # not a field of the file (a held edit is not validated yet)
    view = mask_person({**person, field: value}, role=role, need_to_know=need_to_know, on=on)
    return view.get(field, value)  # notes and house_type are shown as in the file


def _person_at(doc: dict[str, Any] | None, parts: list[str], on: date) -> dict[str, Any]:
    if len(parts) != 3:
        return {}
    person: dict[str, Any] | None = (doc or {}).get("persons", {}).get(parts[1])
    # A member removed since (or of a household not known yet) has no birth date here: mask
    # as strictly as for a child.
    return person if person is not None else {"birth_date": on.isoformat()}


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _withheld(person: dict[str, Any], role: str, need_to_know: bool, on: date) -> bool:
    shown = mask_person(person, role=role, need_to_know=need_to_know, on=on)
    return person.get("birth_date") is not None and shown.get("birth_date") is None
