"""Read model behind grid-member profiles (网格员画像): who did what, on which business day.

Profiles are asked "as of" past dates, so this model keeps dated facts, never running totals:
``member_facts`` holds one row per thing a staff member is credited with (a case reported, a
case closed with or without an SLA breach, a mediation joined or concluded, points granted or
deducted), and ``member_household_grid`` the grid each household belonged to from each date on
(households move between grids mid-quarter). Visits are read from ``visit_log`` at query time:
it already keeps one dated row per visit with its visitor.

The fold keeps the little state it needs to credit the right person (a case's current assignee
and whether its SLA was ever breached, a mediation's staff mediators, a points account's owner)
in tables of its own: a projection never reads another projection's tables while folding,
since their positions are independent.

Days are business days (``GRIDLEDGER_BUSINESS_TIMEZONE``, Beijing by default) of the server
time (``timestamp``), not the phone's clock; the zone is given when the projection is built, so
a rebuild folds the same days. Points take the day their account books them on (``on``), the
day the points account and the board show.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from events.business_date import DEFAULT_BUSINESS_ZONE, business_day, business_zone
from projections.engine import Recorded

__all__ = ["MemberProfileProjection"]

_PREFIXES = (
    "events.household:Household.",
    "events.case_events:CaseRecord.",
    "events.case:Case.",
    "events.mediation:Mediation.",
    "events.points:PointsAccount.",
)
_FOLDED = frozenset(
    {
        "Registered", "MovedToGrid", "Dissolved",  # households
        "Reported", "Dispatched", "SignedFor", "Returned", "Reopened", "ReportedUp",
        "SlaBreached", "Closed",  # cases
        "Opened", "Concluded",  # mediations (and points accounts: Opened)
        "Credited", "RevocationDebited", "Deducted", "DeductionRefunded",  # points
    }
)  # fmt: skip
_INSERT_FACT = (
    "INSERT INTO member_facts (position, staff_id, kind, subject_id, at, day, amount, detail) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"
)
# Points account event -> (fact kind, field holding the points, sign): revocations and refunds
# take back what was granted or deducted, in the period they happen.
_POINT_MOVES: dict[str, tuple[str, str, int]] = {
    "Credited": ("points", "granted", 1),
    "RevocationDebited": ("points", "points", -1),
    "Deducted": ("deduction", "points", 1),
    "DeductionRefunded": ("deduction", "points", -1),
}
Fact = tuple[int, UUID, str, UUID, datetime, date, int, str | None]


class MemberProfileProjection:
    name = "member_profile"
    tables: tuple[str, ...] = (
        "member_facts",
        "member_household_grid",
        "member_case_state",
        "member_mediations",
        "member_points_accounts",
    )
    ddl = """
    CREATE TABLE IF NOT EXISTS member_facts (
        position bigint NOT NULL,
        staff_id uuid NOT NULL,
        kind text NOT NULL,
        subject_id uuid NOT NULL,
        at timestamptz NOT NULL,
        day date NOT NULL,
        amount int NOT NULL,
        detail text,
        PRIMARY KEY (position, staff_id, kind)
    );
    CREATE INDEX IF NOT EXISTS member_facts_staff ON member_facts (staff_id, day);
    CREATE TABLE IF NOT EXISTS member_household_grid (
        household_id uuid NOT NULL,
        version int NOT NULL,
        grid_id uuid,
        effective_from date NOT NULL,
        PRIMARY KEY (household_id, version)
    );
    CREATE INDEX IF NOT EXISTS member_household_grid_grid ON member_household_grid (grid_id);
    CREATE TABLE IF NOT EXISTS member_case_state (
        case_id uuid PRIMARY KEY,
        assignee_id uuid,
        breached boolean NOT NULL DEFAULT false
    );
    CREATE TABLE IF NOT EXISTS member_mediations (
        mediation_id uuid PRIMARY KEY,
        staff_ids uuid[] NOT NULL
    );
    CREATE TABLE IF NOT EXISTS member_points_accounts (
        account_id uuid PRIMARY KEY,
        staff_id uuid NOT NULL
    );
    """

    def __init__(self, zone: ZoneInfo | None = None) -> None:
        self.zone = zone or business_zone(DEFAULT_BUSINESS_ZONE)

    def interested(self, topic: str) -> bool:
        # Only the events that move a fact: the rest are not even decoded.
        return topic.startswith(_PREFIXES) and topic.rsplit(".", 1)[-1] in _FOLDED

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        facts: list[Fact] = []
        grids: list[tuple[UUID, int, UUID | None, date]] = []
        for rec in batch:
            topic = rec.topic
            if topic.startswith("events.household:"):
                grids += _household(rec.event)
            elif topic.startswith("events.points:"):
                facts += await _points(conn, rec)
            else:
                fold = _mediation if topic.startswith("events.mediation:") else _case
                facts += await fold(conn, rec, business_day(rec.event.timestamp, self.zone))
        # Households are most of a township's log: their rows go in one round trip per batch
        # (nothing in this fold reads them back).
        if grids:
            await conn.executemany(
                "INSERT INTO member_household_grid VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                grids,
            )
        if facts:
            await conn.executemany(_INSERT_FACT, facts)


def _fact(
    rec: Recorded, staff_id: UUID, kind: str, day: date, amount: int = 1, detail: str | None = None
) -> Fact:
    e = rec.event
    return rec.position, staff_id, kind, e.originator_id, e.timestamp, day, amount, detail


def _household(e: Any) -> list[tuple[UUID, int, UUID | None, date]]:
    kind = type(e).__name__
    if kind in ("Registered", "MovedToGrid"):
        return [(e.originator_id, e.originator_version, e.grid_id, e.effective_from)]
    if kind == "Dissolved":  # out of every grid from that day on
        return [(e.originator_id, e.originator_version, None, e.effective_from)]
    return []


async def _case(conn: asyncpg.Connection, rec: Recorded, day: date) -> list[Fact]:
    e, kind, cid = rec.event, type(rec.event).__name__, rec.event.originator_id
    if kind == "Reported":
        await conn.execute(
            "INSERT INTO member_case_state (case_id) VALUES ($1) ON CONFLICT DO NOTHING", cid
        )
        reporter = e.reporter.staff_id
        return [] if reporter is None else [_fact(rec, reporter, "case_reported", day)]
    if kind in ("Dispatched", "SignedFor", "Returned", "Reopened", "ReportedUp"):
        assignee = {"Dispatched": getattr(e, "assignee_staff_id", None)}.get(kind)
        if kind == "SignedFor":
            assignee = e.meta.actor_id
        await conn.execute(
            "UPDATE member_case_state SET assignee_id = $2 WHERE case_id = $1", cid, assignee
        )
    elif kind == "SlaBreached":
        await conn.execute("UPDATE member_case_state SET breached = true WHERE case_id = $1", cid)
    elif kind == "Closed":
        return await _closed(conn, rec, day)
    return []


async def _closed(conn: asyncpg.Connection, rec: Recorded, day: date) -> list[Fact]:
    # The handler is credited: whoever the case was dispatched to or signed for by. On time
    # means no stage of the case ever breached its SLA (the scheduler records SlaBreached).
    row = await conn.fetchrow(
        "SELECT assignee_id, breached FROM member_case_state WHERE case_id = $1",
        rec.event.originator_id,
    )
    if row is None or row["assignee_id"] is None:
        return []
    on_time = not row["breached"]
    detail = "on_time" if on_time else "late"
    return [_fact(rec, row["assignee_id"], "case_closed", day, int(on_time), detail)]


async def _mediation(conn: asyncpg.Connection, rec: Recorded, day: date) -> list[Fact]:
    e, kind = rec.event, type(rec.event).__name__
    if kind == "Opened":
        staff = {m.staff_id for m in e.mediators if m.staff_id is not None}
        if e.meta.actor_id is not None:
            staff.add(e.meta.actor_id)
        await conn.execute(
            "INSERT INTO member_mediations VALUES ($1, $2) ON CONFLICT DO NOTHING",
            e.originator_id, sorted(staff),
        )  # fmt: skip
        return [_fact(rec, s, "mediation_opened", day) for s in sorted(staff)]
    if kind == "Concluded":
        staff_ids = await conn.fetchval(
            "SELECT staff_ids FROM member_mediations WHERE mediation_id = $1", e.originator_id
        )
        return [
            _fact(rec, s, "mediation_concluded", day, detail=e.outcome) for s in staff_ids or []
        ]
    return []


async def _points(conn: asyncpg.Connection, rec: Recorded) -> list[Fact]:
    e, kind = rec.event, type(rec.event).__name__
    if kind == "Opened":
        if e.owner_kind == "staff":
            await conn.execute(
                "INSERT INTO member_points_accounts VALUES ($1, $2) ON CONFLICT DO NOTHING",
                e.originator_id, e.owner_id,
            )  # fmt: skip
        return []
    move = _POINT_MOVES.get(kind)
    if move is None:
        return []
    staff_id = await conn.fetchval(
        "SELECT staff_id FROM member_points_accounts WHERE account_id = $1", e.originator_id
    )
    if staff_id is None:
        return []  # a household's account
    fact_kind, field, sign = move
    amount = sign * int(getattr(e, field))
    # The day the account books the points on: the profile agrees with the account.
    return [_fact(rec, staff_id, fact_kind, e.on, amount, detail=getattr(e, "rule_code", None))]
