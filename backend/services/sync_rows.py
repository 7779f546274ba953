"""The contents of pulled rows, read from their owners' read models and masked for the caller.

One query per kind per page. Household files are masked exactly as ``GET /v1/households/{id}``
masks them for the caller's role, minus their change history (an audit trail the phone does
not need, and most of a file's bytes).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

import asyncpg
import msgspec

from backend.http.household_schemas import file_view
from backend.services.actor import Actor
from backend.services.households import NEED_TO_KNOW_ROLES
from projections import household_files

__all__ = ["load_rows"]

Data = dict[str, Any]
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(dict[str, Any])
_Loader = Callable[[asyncpg.Connection, Actor, Sequence[str]], Awaitable[dict[str, Data]]]


async def load_rows(
    conn: asyncpg.Connection, actor: Actor, ids_by_kind: dict[str, list[str]], *, today: date
) -> dict[tuple[str, str], bytes]:
    """``(kind, id) -> JSON of its data`` for every row that still exists, masked as of the
    business date ``today`` (a child's name is masked by age)."""
    found: dict[tuple[str, str], bytes] = {}
    for kind, ids in ids_by_kind.items():
        if kind == "household":
            for row_id, raw in (await _households(conn, actor, ids, today)).items():
                found[(kind, row_id)] = raw
            continue
        loader = _LOADERS.get(kind)
        if loader is None or not ids:
            continue
        for row_id, data in (await loader(conn, actor, ids)).items():
            found[(kind, row_id)] = _ENCODER.encode(data)
    return found


# Masked household files, encoded, by (id, version, role, day): masking depends on nothing
# else, so a bootstrap of a large scope is served from here after the first (the per-role
# snapshot; never shared across roles, which see different masks).
_MASKED: OrderedDict[tuple[str, int, str, date], bytes] = OrderedDict()
_MASKED_MAX = 100_000


async def _households(
    conn: asyncpg.Connection, actor: Actor, ids: Sequence[str], today: date
) -> dict[str, bytes]:
    versions = await conn.fetch(
        "SELECT id::text AS id, version FROM household_files WHERE id = ANY($1::uuid[])", list(ids)
    )
    keys = {r["id"]: (r["id"], r["version"], actor.role, today) for r in versions}
    out = {i: _MASKED[k] for i, k in keys.items() if k in _MASKED}
    missing = [i for i in keys if i not in out]
    if missing:
        rows = await conn.fetch(
            "SELECT id::text AS id, doc - 'history' AS doc FROM household_files "
            "WHERE id = ANY($1::uuid[])",
            missing,
        )
        for r in rows:
            out[r["id"]] = _remember(keys[r["id"]], _masked(actor, r["doc"], today))
    return out


def _masked(actor: Actor, doc_json: str, today: date) -> bytes:
    doc = _DECODER.decode(doc_json)
    doc["history"] = []  # an audit trail the phone does not need (most of a file's bytes)
    masked = household_files.masked_file(
        doc, role=actor.role, need_to_know=actor.role in NEED_TO_KNOW_ROLES, on=today
    )
    return _ENCODER.encode(file_view(masked))


def _remember(key: tuple[str, int, str, date], raw: bytes) -> bytes:
    _MASKED[key] = raw
    while len(_MASKED) > _MASKED_MAX:
        _MASKED.popitem(last=False)
    return raw


async def _cases(conn: asyncpg.Connection, actor: Actor, ids: Sequence[str]) -> dict[str, Data]:
    rows = await conn.fetch(
        "SELECT id::text AS id, category, status, suspended, level, holder_unit_id::text, "
        "assignee_staff_id::text, doc->>'title' AS title, doc->>'household_id' AS household_id, "
        "reported_at, version FROM case_board WHERE id = ANY($1::uuid[])",
        list(ids),
    )
    return {r["id"]: _plain(dict(r)) for r in rows}


async def _visit_plans(
    conn: asyncpg.Connection, actor: Actor, ids: Sequence[str]
) -> dict[str, Data]:
    rows = await conn.fetch(
        "SELECT grid_id::text AS grid_id, household_id::text AS household_id, "
        "max(visited_at) AS last FROM visit_log WHERE grid_id = ANY($1::uuid[]) AND NOT voided "
        "GROUP BY grid_id, household_id",
        list(ids),
    )
    out: dict[str, Data] = {i: {"grid_id": i, "last_visits": {}} for i in ids}
    for r in rows:
        out[r["grid_id"]]["last_visits"][r["household_id"]] = r["last"].isoformat()
    return out


async def _categories(
    conn: asyncpg.Connection, actor: Actor, ids: Sequence[str]
) -> dict[str, Data]:
    rows = await conn.fetch(
        "SELECT id::text AS id, code, label, parent_code, mediation_eligible, active, version "
        "FROM ref_case_categories WHERE id = ANY($1::uuid[])",
        list(ids),
    )
    return {r["id"]: dict(r) for r in rows}


async def _point_rules(
    conn: asyncpg.Connection, actor: Actor, ids: Sequence[str]
) -> dict[str, Data]:
    rows = await conn.fetch(
        "SELECT r.id::text AS id, r.code, r.trigger, r.target, r.retired_from, r.version, "
        "v.points, v.daily_cap, v.total_cap, v.commendation, v.label, v.effective_from "
        "FROM ref_point_rules r JOIN ref_point_rule_versions v ON v.code = r.code "
        "AND v.rule_version = r.current_version WHERE r.id = ANY($1::uuid[])",
        list(ids),
    )
    return {r["id"]: _plain(dict(r)) for r in rows}


async def _sla_rules(conn: asyncpg.Connection, actor: Actor, ids: Sequence[str]) -> dict[str, Data]:
    row = await conn.fetchrow("SELECT rules, version FROM ref_sla_rule_set")
    if row is None:
        return {}
    return {"current": {"rules": json.loads(row["rules"]), "version": row["version"]}}


async def _event_statuses(
    conn: asyncpg.Connection, actor: Actor, ids: Sequence[str]
) -> dict[str, Data]:
    rows = await conn.fetch(
        "SELECT event_id::text AS event_id, event_type AS type, status, errcode, reason, "
        "waiting_for, updated_position AS position FROM sync_receipts "
        "WHERE event_id = ANY($1::uuid[]) AND staff_id = $2",
        list(ids), actor.staff_id,
    )  # fmt: skip
    return {r["event_id"]: _status(dict(r)) for r in rows}


def _status(row: Data) -> Data:
    row["waiting_for"] = [
        {"kind": k, "id": i} for k, _, i in (w.partition(":") for w in row["waiting_for"])
    ]
    return row


def _plain(row: Data) -> Data:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}


_LOADERS: dict[str, _Loader] = {
    "case": _cases,
    "visit_plan": _visit_plans,
    "category": _categories,
    "point_rule": _point_rules,
    "sla_rule": _sla_rules,
    "event_status": _event_statuses,
}
