"""What a notice-board edition shows, read from the other read models (public profile).

Every query here returns only what privacy rule 5 allows on a public board: grid names and
household *counts*, staff names with their work phones (public contacts), commendations with
the recipient household named by its head's masked name, the staff points ranking, case
*counts* (no case text, no reporter, no household) and the audit checkpoint. Residents'
phones, ID numbers, addresses, tags and minors never leave the household files here; the
privacy gate (``backend.services.notice_board_privacy``) checks the result again before it is
published.
"""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from typing import Any, Final, TypeAlias
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from events.business_date import day_after_start, day_start
from events.notice_board import (
    BoardCaseStats,
    BoardCheckpoint,
    BoardCommendation,
    BoardContact,
    BoardCount,
    BoardGrid,
    BoardRankEntry,
)
from events.privacy import mask_name
from events.sensitivity import PERSON_TAGS, is_under_18

__all__ = [
    "COMMENDATION_TITLES",
    "STATE_LABELS",
    "board_case_stats",
    "board_checkpoint",
    "board_commendations",
    "board_grids",
    "board_ranking",
    "resident_values",
    "staff_work_phones",
]

Conn: TypeAlias = asyncpg.Pool | asyncpg.Connection

COMMENDATION_TITLES: Final = {
    "star_civilised_household": "星级文明户",
    "beautiful_courtyard": "美丽庭院",
    "excellent_grid_member": "优秀网格员",
}
STATE_LABELS: Final = {
    "reported": "已上报",
    "accepted": "已受理",
    "rejected": "不予受理",
    "registered": "已立案",
    "dispatched": "已派遣",
    "signed_for": "已签收",
    "handled": "已处置",
    "verified": "已核查",
    "closed": "已结案",
    "suspended": "挂起",
}
PUBLIC_ROLES: Final = ("grid_head", "grid_member")
ROLE_ORDER: Final = {"grid_head": 0, "grid_member": 1}
COMMENDATIONS_MAX: Final = 50
RANKING_MAX: Final = 20
COMMENDATION_DAYS: Final = 365
# A household is named on the board by its head; an unknown or under-18 head is not named.
UNNAMED_HOUSEHOLD: Final = "某户"


async def board_grids(conn: Conn, unit_id: UUID) -> tuple[BoardGrid, ...]:
    """Villages and grids under (and including) the unit, with household counts and contacts."""
    units = await conn.fetch(
        "SELECT u.id, u.code, u.name, u.level, (SELECT count(*) FROM household_files h "
        "JOIN grid_units g ON g.id = h.grid_id WHERE h.status = 'active' "
        "AND g.path @> ARRAY[u.id]) AS households FROM grid_units u "
        "WHERE u.path @> ARRAY[$1]::uuid[] AND u.status = 'active' AND u.level IN (2, 3) "
        "ORDER BY u.code",
        unit_id,
    )
    staff = await conn.fetch(
        "SELECT s.name, s.role, s.work_phone, s.scope_unit_id FROM staff s "
        "JOIN grid_units u ON u.id = s.scope_unit_id WHERE u.path @> ARRAY[$1]::uuid[] "
        "AND s.status = 'active' AND s.role = ANY($2::text[]) ORDER BY s.name, s.id",
        unit_id,
        list(PUBLIC_ROLES),
    )
    contacts: dict[UUID, list[BoardContact]] = {}
    for s in sorted(staff, key=lambda s: ROLE_ORDER[s["role"]]):
        contact = BoardContact(name=s["name"], role=s["role"], work_phone=s["work_phone"])
        contacts.setdefault(s["scope_unit_id"], []).append(contact)
    return tuple(
        BoardGrid(
            code=u["code"], name=u["name"], level=u["level"], households=int(u["households"]),
            contacts=tuple(contacts.get(u["id"], ())),
        )
        for u in units
    )  # fmt: skip


def _recipient(row: dict[str, Any], *, on: date) -> str:
    if row["owner_kind"] == "staff":
        return str(row["staff_name"])
    head = row["head"] or {}
    name, birth = head.get("name"), head.get("birth_date")
    born = date.fromisoformat(birth) if isinstance(birth, str) else None
    if not isinstance(name, str) or not name.strip() or is_under_18(born, on):
        return UNNAMED_HOUSEHOLD
    return f"{mask_name(name)}家"


# The day a commendation is dated by is the day its points account booked it on (the credit
# line of the award; the same day the account shows), or, while the ledger has not folded the
# credit yet, the business day of the decision.
_COMMENDATION_DAY = (
    "COALESCE((SELECT h.day FROM points_history h WHERE h.account_id = a.account_id "
    "AND h.award_id = a.id ORDER BY h.seq LIMIT 1), (a.decided_at AT TIME ZONE $4)::date)"
)


async def board_commendations(
    conn: Conn, unit_id: UUID, *, on: date, zone: ZoneInfo
) -> tuple[BoardCommendation, ...]:
    """Approved (not revoked) commendations of the last year in the unit's subtree."""
    rows = await conn.fetch(
        "SELECT * FROM (SELECT p.owner_kind, a.commendation, a.decided_at, a.id, "
        f"{_COMMENDATION_DAY} AS day, st.name AS staff_name, u.name AS "
        "grid_name, (SELECT p2 FROM jsonb_each(hf.doc->'persons') AS x(k, p2) "
        "WHERE p2->>'relation' = '户主' LIMIT 1) AS head "
        "FROM awards a JOIN points_accounts p ON p.id = a.account_id "
        "LEFT JOIN household_files hf ON p.owner_kind = 'household' AND hf.id = p.owner_id "
        "LEFT JOIN staff st ON p.owner_kind = 'staff' AND st.id = p.owner_id "
        "JOIN grid_units u ON u.id = COALESCE(hf.grid_id, st.scope_unit_id) "
        "WHERE u.path @> ARRAY[$1]::uuid[] AND a.state = 'approved' "
        "AND a.commendation IS NOT NULL) AS c WHERE c.day >= $2 "
        "ORDER BY c.decided_at DESC, c.id LIMIT $3",
        unit_id,
        on - timedelta(days=COMMENDATION_DAYS),
        COMMENDATIONS_MAX,
        zone.key,
    )
    return tuple(_commendation(r, on=on) for r in rows)


def _commendation(row: asyncpg.Record, *, on: date) -> BoardCommendation:
    head = row["head"]
    record: dict[str, Any] = dict(row)
    record["head"] = json.loads(head) if isinstance(head, str) else head
    return BoardCommendation(
        recipient=_recipient(record, on=on),
        recipient_kind=row["owner_kind"],
        title=COMMENDATION_TITLES.get(row["commendation"], "表彰"),
        grid_name=row["grid_name"],
        day=row["day"],
    )


async def board_ranking(conn: Conn, unit_id: UUID) -> tuple[BoardRankEntry, ...]:
    """Grid heads and members in the subtree by points balance (ties share a rank)."""
    rows = await conn.fetch(
        "SELECT s.name, u.name AS grid_name, p.balance, rank() OVER (ORDER BY p.balance DESC) "
        "AS rank FROM points_accounts p JOIN staff s ON p.owner_kind = 'staff' "
        "AND s.id = p.owner_id JOIN grid_units u ON u.id = s.scope_unit_id "
        "WHERE u.path @> ARRAY[$1]::uuid[] AND s.status = 'active' "
        "AND s.role = ANY($2::text[]) ORDER BY p.balance DESC, s.name, s.id LIMIT $3",
        unit_id,
        list(PUBLIC_ROLES),
        RANKING_MAX,
    )
    return tuple(
        BoardRankEntry(
            rank=int(r["rank"]), name=r["name"], grid_name=r["grid_name"], points=r["balance"]
        )
        for r in rows
    )


_CASES = (
    "FROM case_board c JOIN grid_units h ON h.id = c.holder_unit_id "
    "WHERE h.path @> ARRAY[$1]::uuid[] AND c.reported_at >= $2 AND c.reported_at < $3"
)
_CASES_BY_CATEGORY = (
    "FROM case_board c JOIN grid_units h ON h.id = c.holder_unit_id "
    "LEFT JOIN ref_case_categories r ON r.code = c.category "
    "WHERE h.path @> ARRAY[$1]::uuid[] AND c.reported_at >= $2 AND c.reported_at < $3"
)


async def board_case_stats(
    conn: Conn, unit_id: UUID, *, start: date, end: date, zone: ZoneInfo
) -> BoardCaseStats:
    """Counts of cases held in the subtree, reported in the business days [start, end] (in
    ``zone``). Closed on time: closed without the SLA scheduler having recorded a breach or an
    overdue escalation."""
    args = (unit_id, day_start(start, zone), day_after_start(end, zone))
    states = await conn.fetch(
        "SELECT CASE WHEN c.suspended THEN 'suspended' ELSE c.status END AS key, count(*) "
        f"AS n {_CASES} GROUP BY 1 ORDER BY 1",
        *args,
    )
    categories = await conn.fetch(
        f"SELECT c.category AS key, max(r.label) AS label, count(*) AS n {_CASES_BY_CATEGORY} "
        "GROUP BY 1 ORDER BY 3 DESC, 1",
        *args,
    )
    closed = await conn.fetchrow(
        "SELECT count(*) AS closed, count(*) FILTER (WHERE NOT (c.doc->'sla_emitted' ?| "
        f"ARRAY['red', 'escalated'])) AS on_time {_CASES} AND c.status = 'closed'",
        *args,
    )
    n_closed, on_time = int(closed["closed"]), int(closed["on_time"])
    return BoardCaseStats(
        window_start=start, window_end=end, total=sum(int(r["n"]) for r in states),
        closed=n_closed, closed_on_time=on_time,
        on_time_rate=round(on_time / n_closed, 4) if n_closed else None,
        by_state=tuple(
            BoardCount(key=r["key"], label=STATE_LABELS.get(r["key"], r["key"]), count=r["n"])
            for r in states
        ),
        by_category=tuple(
            BoardCount(key=r["key"], label=r["label"] or r["key"], count=r["n"])
            for r in categories
        ),
    )  # fmt: skip


async def board_checkpoint(conn: Conn) -> BoardCheckpoint | None:
    """The latest signed checkpoint, once the sealer's table exists and holds one."""
    if await conn.fetchval("SELECT to_regclass('log_checkpoints')") is None:
        return None
    row = await conn.fetchrow(
        "SELECT tree_size, root_hash, key_id, signed_note, issued_at FROM log_checkpoints "
        "ORDER BY tree_size DESC LIMIT 1"
    )
    if row is None:
        return None
    root = bytes(row["root_hash"] or b"")
    return BoardCheckpoint(
        tree_size=int(row["tree_size"]), root_hash_hex=root.hex(),
        root_hash_base64=base64.b64encode(root).decode(), key_id=row["key_id"],
        issued_at=row["issued_at"], signed_note=row["signed_note"],
    )  # fmt: skip


async def staff_work_phones(conn: Conn) -> frozenset[str]:
    """Work phones of active staff: public contacts, the only mobiles a board may show."""
    rows = await conn.fetch("SELECT work_phone FROM staff WHERE status = 'active'")
    return frozenset(r["work_phone"] for r in rows)


async def resident_values(
    conn: Conn, unit_id: UUID, *, on: date
) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(names of minors under 18 and special-population persons, every resident's name,
    every exact address) in the subtree: what the privacy gate looks for."""
    rows = await conn.fetch(
        "SELECT p->>'name' AS name, p->>'birth_date' AS birth, p->'tags' AS tags "
        "FROM household_files h JOIN grid_units g ON g.id = h.grid_id, "
        "jsonb_each(h.doc->'persons') AS x(k, p) WHERE g.path @> ARRAY[$1]::uuid[]",
        unit_id,
    )
    named = [r for r in rows if r["name"] and len(r["name"].strip()) >= 2]
    addresses = await conn.fetch(
        "SELECT DISTINCT h.doc->>'address' AS address FROM household_files h "
        "JOIN grid_units g ON g.id = h.grid_id WHERE g.path @> ARRAY[$1]::uuid[]",
        unit_id,
    )
    return (
        frozenset(r["name"].strip() for r in named if _protected(r, on=on)),
        frozenset(r["name"].strip() for r in named),
        frozenset(
            a["address"].strip() for a in addresses if a["address"] and len(a["address"]) >= 4
        ),
    )


def _protected(row: asyncpg.Record, *, on: date) -> bool:
    birth = date.fromisoformat(row["birth"]) if row["birth"] else None
    tags = json.loads(row["tags"]) if isinstance(row["tags"], str) else (row["tags"] or [])
    special = any(PERSON_TAGS[t].special_population for t in tags if t in PERSON_TAGS)
    return special or is_under_18(birth, on)
