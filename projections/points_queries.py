"""Queries of the points read model (tables in :mod:`projections.points_ledger`)."""

from __future__ import annotations

import json
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

__all__ = [
    "account_history",
    "commendations",
    "get_account",
    "get_award",
    "list_awards",
    "redemptions_of",
]

Conn: TypeAlias = asyncpg.Pool | asyncpg.Connection

_AWARD_COLUMNS = (
    "a.id, a.account_id, p.owner_kind, p.owner_id, a.rule_code, a.rule_version, a.trigger, "
    "a.target, a.label, a.rule_points, a.commendation, a.source_event_id, a.reason, a.evidence, "
    "a.state, a.points, a.decision_reason, a.proposed_by, a.proposed_at, a.decided_by, "
    "a.decided_at, a.version"
)
# The unit that decides who may see an account: a household's grid, a staff member's scope.
_OWNER_UNIT = (
    "LEFT JOIN household_files hf ON p.owner_kind = 'household' AND hf.id = p.owner_id "
    "LEFT JOIN staff st ON p.owner_kind = 'staff' AND st.id = p.owner_id "
    "JOIN grid_units u ON u.id = COALESCE(hf.grid_id, st.scope_unit_id) "
)


async def get_account(conn: Conn, owner_kind: str, owner_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, owner_kind, owner_id, balance, owed, version FROM points_accounts "
        "WHERE owner_kind = $1 AND owner_id = $2",
        owner_kind,
        owner_id,
    )


async def account_history(conn: Conn, account_id: UUID, *, limit: int) -> list[dict[str, Any]]:
    """Newest first, each line with the award (label, reason, source) or redemption behind it."""
    rows = await conn.fetch(
        "SELECT h.seq, h.kind, h.points, h.requested, h.day, h.balance_after, h.owed_after, "
        "h.award_id, h.redemption_id, h.rule_code, h.commendation, h.recorded_at, "
        "a.label AS award_label, a.reason AS award_reason, a.source_event_id, "
        "a.state AS award_state, r.total AS redemption_total, r.items AS redemption_items, "
        "r.cancelled AS redemption_cancelled FROM points_history h "
        "LEFT JOIN awards a ON a.id = h.award_id "
        "LEFT JOIN points_redemptions r ON r.account_id = h.account_id "
        "AND r.redemption_id = h.redemption_id "
        "WHERE h.account_id = $1 ORDER BY h.seq DESC LIMIT $2",
        account_id,
        limit,
    )
    out = []
    for row in rows:
        item = dict(row)
        items = item.pop("redemption_items")
        item["redemption_items"] = None if items is None else json.loads(items)
        out.append(item)
    return out


async def commendations(conn: Conn, account_id: UUID) -> list[dict[str, Any]]:
    """Commendations held: credited and not revoked since."""
    rows = await conn.fetch(
        "SELECT h.commendation, h.award_id, h.day FROM points_history h "
        "WHERE h.account_id = $1 AND h.kind = 'credit' AND h.commendation IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM points_history r WHERE r.account_id = h.account_id "
        "AND r.kind = 'revocation' AND r.award_id = h.award_id) ORDER BY h.seq",
        account_id,
    )
    return [dict(r) for r in rows]


async def redemptions_of(conn: Conn, account_id: UUID, redemption_id: UUID) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT redemption_id, items, total, day, recorded_at, cancelled, cancel_reason "
        "FROM points_redemptions WHERE account_id = $1 AND redemption_id = $2",
        account_id,
        redemption_id,
    )
    out = dict(row) if row else {}
    if out:
        out["items"] = json.loads(out["items"])
    return out


async def get_award(conn: Conn, award_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT {_AWARD_COLUMNS} FROM awards a JOIN points_accounts p ON p.id = a.account_id "
        "WHERE a.id = $1",
        award_id,
    )
    return None if row is None else dict(row)


async def list_awards(
    conn: Conn,
    *,
    scope_unit_id: UUID,
    state: str | None,
    owner_kind: str | None,
    owner_id: UUID | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    where = (
        f"FROM awards a JOIN points_accounts p ON p.id = a.account_id {_OWNER_UNIT}"
        "WHERE u.path @> ARRAY[$1]::uuid[] AND ($2::text IS NULL OR a.state = $2) "
        "AND ($3::text IS NULL OR p.owner_kind = $3) AND ($4::uuid IS NULL OR p.owner_id = $4)"
    )
    args = (scope_unit_id, state, owner_kind, owner_id)
    total = await conn.fetchval(f"SELECT count(*) {where}", *args)
    rows = await conn.fetch(
        f"SELECT {_AWARD_COLUMNS} {where} ORDER BY a.proposed_at DESC, a.id LIMIT $5 OFFSET $6",
        *args,
        limit,
        offset,
    )
    return int(total), [dict(r) for r in rows]
