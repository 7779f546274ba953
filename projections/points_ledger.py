"""Read model of points (积分): balances, history, redemptions and awards, without aggregates.

Boards and rankings read ``points_accounts`` (one row per household or staff account);
``points_history`` mirrors the account's ledger line by line, and each line names the award
or redemption behind it. The fold repeats the account's arithmetic from the amounts the
events recorded (granted, taken, owed, repaid), so it never re-decides anything, and the
projected balance equals the aggregate's.

Scope is decided when read, through the owner: a household's current grid, a staff member's
current scope unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from projections.engine import Recorded
from projections.points_queries import (
    account_history,
    commendations,
    get_account,
    get_award,
    list_awards,
    redemptions_of,
)

__all__ = [
    "PointsLedgerProjection",
    "account_history",
    "commendations",
    "get_account",
    "get_award",
    "list_awards",
    "redemptions_of",
]

_ACCOUNT = "events.points:PointsAccount."
_AWARD = "events.award:Award."


class PointsLedgerProjection:
    name = "points_ledger"
    tables: tuple[str, ...] = ("points_accounts", "points_history", "points_redemptions", "awards")
    ddl = """
    CREATE TABLE IF NOT EXISTS points_accounts (
        id uuid PRIMARY KEY,
        owner_kind text NOT NULL,
        owner_id uuid NOT NULL,
        balance int NOT NULL,
        owed int NOT NULL,
        version int NOT NULL,
        updated_position bigint NOT NULL,
        UNIQUE (owner_kind, owner_id)
    );
    CREATE TABLE IF NOT EXISTS points_history (
        account_id uuid NOT NULL,
        seq int NOT NULL,
        kind text NOT NULL,
        points int NOT NULL,
        requested int,
        day date NOT NULL,
        balance_after int NOT NULL,
        owed_after int NOT NULL,
        award_id uuid,
        redemption_id uuid,
        rule_code text,
        commendation text,
        recorded_at timestamptz NOT NULL,
        PRIMARY KEY (account_id, seq)
    );
    CREATE INDEX IF NOT EXISTS points_history_award ON points_history (award_id);
    CREATE TABLE IF NOT EXISTS points_redemptions (
        account_id uuid NOT NULL,
        redemption_id uuid NOT NULL,
        items jsonb NOT NULL,
        total int NOT NULL,
        day date NOT NULL,
        recorded_at timestamptz NOT NULL,
        cancelled boolean NOT NULL DEFAULT false,
        cancel_reason text,
        PRIMARY KEY (account_id, redemption_id)
    );
    CREATE TABLE IF NOT EXISTS awards (
        id uuid PRIMARY KEY,
        account_id uuid NOT NULL,
        rule_code text NOT NULL,
        rule_version int NOT NULL,
        trigger text NOT NULL,
        target text NOT NULL,
        label text NOT NULL,
        rule_points int NOT NULL,
        commendation text,
        source_event_id uuid NOT NULL,
        reason text NOT NULL,
        evidence text[] NOT NULL,
        state text NOT NULL,
        points int,
        decision_reason text,
        proposed_by uuid,
        proposed_at timestamptz NOT NULL,
        decided_by uuid,
        decided_at timestamptz,
        version int NOT NULL
    );
    CREATE INDEX IF NOT EXISTS awards_account ON awards (account_id, proposed_at);
    """

    def interested(self, topic: str) -> bool:
        return topic.startswith((_ACCOUNT, _AWARD))

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        # Balances fold in memory per batch and are written once per touched account.
        accounts: dict[UUID, dict[str, Any]] = {}
        for rec in batch:
            e = rec.event
            if rec.topic.startswith(_AWARD):
                await _award(conn, e)
            elif type(e).__name__ == "Opened":
                accounts[e.originator_id] = {"balance": 0, "owed": 0, "new": e}
            else:
                account = accounts.get(e.originator_id) or await _load(conn, e.originator_id)
                accounts[e.originator_id] = account
                await _posting(conn, account, e)
            if e.originator_id in accounts:
                accounts[e.originator_id].update(version=e.originator_version, pos=rec.position)
        for account_id, account in accounts.items():
            await _store(conn, account_id, account)


async def _load(conn: asyncpg.Connection, account_id: UUID) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT balance, owed FROM points_accounts WHERE id = $1", account_id)
    return {"balance": row["balance"], "owed": row["owed"]}


async def _store(conn: asyncpg.Connection, account_id: UUID, account: dict[str, Any]) -> None:
    new = account.get("new")
    await conn.execute(
        "INSERT INTO points_accounts (id, owner_kind, owner_id, balance, owed, version, "
        "updated_position) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET "
        "balance = $4, owed = $5, version = $6, updated_position = $7",
        account_id, new.owner_kind if new else "", new.owner_id if new else account_id,
        account["balance"], account["owed"], account["version"], account["pos"],
    )  # fmt: skip


def _moves(e: Any) -> tuple[str, int, int, int]:
    """(kind, signed points of the line, change of balance, change of owed) — as the aggregate."""
    kind = type(e).__name__
    if kind == "Credited":
        return "credit", e.granted, e.granted - e.repaid, -e.repaid
    if kind == "Deducted":
        return "deduction", -e.points, -e.taken, e.owed
    if kind == "RevocationDebited":
        return "revocation", -e.points, -e.taken, e.owed
    if kind == "DeductionRefunded":
        return "deduction_refund", e.points, e.points - e.repaid, -e.repaid
    if kind == "Redeemed":
        return "redemption", -e.total, -e.total, 0
    return "redemption_cancel", e.refund, e.refund - e.repaid, -e.repaid


async def _posting(conn: asyncpg.Connection, account: dict[str, Any], e: Any) -> None:
    kind, points, balance, owed = _moves(e)
    account["balance"] += balance
    account["owed"] += owed
    await conn.execute(
        "INSERT INTO points_history (account_id, seq, kind, points, requested, day, "
        "balance_after, owed_after, award_id, redemption_id, rule_code, commendation, "
        "recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
        "ON CONFLICT DO NOTHING",
        e.originator_id, e.originator_version, kind, points, getattr(e, "requested", None),
        e.on, account["balance"], account["owed"], getattr(e, "award_id", None),
        getattr(e, "redemption_id", None), getattr(e, "rule_code", None),
        getattr(e, "commendation", None), e.timestamp,
    )  # fmt: skip
    if kind == "redemption":
        await conn.execute(
            "INSERT INTO points_redemptions (account_id, redemption_id, items, total, day, "
            "recorded_at) VALUES ($1, $2, $3::jsonb, $4, $5, $6) ON CONFLICT DO NOTHING",
            e.originator_id, e.redemption_id, msgspec.json.encode(e.items).decode(), e.total,
            e.on, e.timestamp,
        )  # fmt: skip
    elif kind == "redemption_cancel":
        await conn.execute(
            "UPDATE points_redemptions SET cancelled = true, cancel_reason = $3 "
            "WHERE account_id = $1 AND redemption_id = $2",
            e.originator_id, e.redemption_id, e.reason,
        )  # fmt: skip


async def _award(conn: asyncpg.Connection, e: Any) -> None:
    kind = type(e).__name__
    if kind == "Proposed":
        r = e.rule
        await conn.execute(
            "INSERT INTO awards (id, account_id, rule_code, rule_version, trigger, target, label, "
            "rule_points, commendation, source_event_id, reason, evidence, state, proposed_by, "
            "proposed_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
            "'proposed', $13, $14, $15) ON CONFLICT (id) DO NOTHING",
            e.originator_id, e.account_id, r.code, r.rule_version, r.trigger, r.target, r.label,
            r.points, r.commendation, e.source_event_id, e.reason, list(e.evidence),
            e.meta.actor_id, e.timestamp, e.originator_version,
        )  # fmt: skip
        return
    state = {"Approved": "approved", "Rejected": "rejected", "Revoked": "revoked"}[kind]
    await conn.execute(
        "UPDATE awards SET state = $2, points = COALESCE($3, points), "
        "decision_reason = COALESCE($4, decision_reason), decided_by = $5, decided_at = $6, "
        "version = $7 WHERE id = $1",
        e.originator_id, state, getattr(e, "points", None), getattr(e, "reason", None),
        e.meta.actor_id, e.timestamp, e.originator_version,
    )  # fmt: skip
