"""Folding one batch of events into the assessment facts with a handful of statements.

Folding one statement per event made ``assessment_facts`` the slowest read model to rebuild.
Here a batch (one transaction) reads what it needs up front — the cases, accounts and voided
visits it touches, in one query each — keeps every change in memory, and writes each table
once at the end. The result equals folding the events one by one:

* later events of the batch see earlier ones through the in-memory copies (a case reported
  then closed, a visit recorded then voided, an account opened then credited);
* a fact's unit path is the tree *as it stood at the event*: paths are resolved lazily, and
  always before a grid event changes the tree (the only events that write units, directly);
* staff scopes are read from the database (which nothing changes until the end of the batch)
  merged with the batch's own appointments, in the order the database would give them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from events.business_date import business_day
from projections.assessment_totals import add_totals
from projections.bulk import insert_new_rows
from projections.engine import Recorded

__all__ = ["CLIENT_TIME_WINDOW", "BatchFold", "occurred_at"]

CLIENT_TIME_WINDOW: Final = timedelta(days=14)

GRID = "events.grid:GridUnit."
STAFF = "events.staff:Staff."
VISIT = "events.visit:Visit."
CASES = ("events.case:Case.", "events.case_events:CaseRecord.")
MEDIATION = "events.mediation:Mediation."
ACCOUNT = "events.points:PointsAccount."
_PATH_AT = 7  # where a fact row holds its unit path

_POINT_MOVES: Final = {
    "Credited": ("points_earned", "granted", 1),
    "RevocationDebited": ("points_earned", "points", -1),
    "Deducted": ("points_deducted", "points", 1),
    "DeductionRefunded": ("points_deducted", "points", -1),
}
_PATHS_SQL = (
    "WITH RECURSIVE up(start, id, parent_id, depth) AS (SELECT id, id, parent_id, 0 FROM "
    "assessment_units WHERE id = ANY($1::uuid[]) UNION ALL SELECT up.start, u.id, u.parent_id, "
    "up.depth + 1 FROM assessment_units u JOIN up ON u.id = up.parent_id WHERE up.depth < 8) "
    "SELECT start, array_agg(id ORDER BY depth DESC) AS path FROM up GROUP BY start"
)
_FACT_COLUMNS = (
    "position", "measure", "aggregate_id", "aggregate_version", "event_type", "member_id",
    "unit_id", "unit_path", "value", "ref_id", "occurred_at",
)  # fmt: skip
_CASE_COLUMNS = ("member_id", "unit_id", "breached", "closed_on_time")


def occurred_at(client_time: datetime | None, recorded_at: datetime) -> datetime:
    """The phone's time if plausible (see ``projections.assessment_facts``), else the server's."""
    if client_time is None or client_time.tzinfo is None:
        return recorded_at
    if recorded_at - CLIENT_TIME_WINDOW <= client_time <= recorded_at:
        return client_time
    return recorded_at


class BatchFold:
    """One batch's fold: call :meth:`run` once."""

    def __init__(self, conn: asyncpg.Connection, zone: ZoneInfo) -> None:
        self.conn = conn
        self.zone = zone  # the business zone: a fact's day, and so its periods
        self.unresolved: list[list[Any]] = []  # facts waiting for their unit path
        self.facts: list[tuple[Any, ...]] = []
        self.paths: dict[UUID, list[UUID]] = {}
        self.first_visits: dict[UUID, dict[str, Any]] = {}  # the +1 visit fact, by visit
        self.voided: set[UUID] = set()  # visits the batch voids (only theirs are kept above)
        self.cases: dict[UUID, dict[str, Any]] = {}
        self.dirty_cases: set[UUID] = set()
        self.accounts: dict[UUID, UUID] = {}
        self.new_accounts: list[tuple[UUID, UUID]] = []
        self.scopes: dict[UUID, list[tuple[date, int, UUID | None]]] = {}
        self.new_scopes: list[tuple[UUID, int, UUID | None, date]] = []

    async def run(self, batch: Sequence[Recorded]) -> None:
        await self._prefetch(batch)
        for rec in batch:
            kind = type(rec.event).__name__
            if rec.topic.startswith(GRID):
                await self._grid(rec.event, kind)
            elif rec.topic.startswith(STAFF):
                self._staff(rec.event, kind)
            elif rec.topic.startswith(VISIT):
                self._visit(rec, kind)
            elif rec.topic.startswith(CASES):
                self._case(rec, kind)
            elif rec.topic.startswith(MEDIATION):
                await self._mediation(rec, kind)
            else:
                await self._account(rec, kind)
        await self._write()

    async def _prefetch(self, batch: Sequence[Recorded]) -> None:
        def ids(prefixes: str | tuple[str, ...], kinds: tuple[str, ...] = ()) -> list[UUID]:
            return list({r.event.originator_id for r in batch if r.topic.startswith(prefixes)
                         and (not kinds or type(r.event).__name__ in kinds)})  # fmt: skip

        if case_ids := ids(CASES):
            rows = await self.conn.fetch(
                "SELECT * FROM assessment_cases WHERE id = ANY($1::uuid[])", case_ids
            )
            self.cases = {r["id"]: {c: r[c] for c in _CASE_COLUMNS} for r in rows}
        if account_ids := ids(ACCOUNT):
            rows = await self.conn.fetch(
                "SELECT id, staff_id FROM assessment_accounts WHERE id = ANY($1::uuid[])",
                account_ids,
            )
            self.accounts = {r["id"]: r["staff_id"] for r in rows}
        if voided := ids(VISIT, ("Voided",)):
            self.voided = set(voided)
            rows = await self.conn.fetch(
                "SELECT DISTINCT ON (aggregate_id) aggregate_id, member_id, unit_id, ref_id, "
                "occurred_at FROM assessment_facts WHERE aggregate_id = ANY($1::uuid[]) "
                "AND measure = 'visit' AND value = 1",
                voided,
            )
            self.first_visits = {r["aggregate_id"]: dict(r) for r in rows}

    async def _write(self) -> None:
        await self._resolve_paths()
        await add_totals(self.conn, self.facts, self.zone)
        await insert_new_rows(self.conn, "assessment_facts", _FACT_COLUMNS, self.facts,
                              order_by="position, measure")  # fmt: skip
        if self.new_scopes:
            await self.conn.executemany(
                "INSERT INTO assessment_scopes VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                self.new_scopes,
            )
        if self.dirty_cases:
            await self.conn.executemany(
                "INSERT INTO assessment_cases VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO "
                "UPDATE SET member_id = excluded.member_id, unit_id = excluded.unit_id, "
                "breached = excluded.breached, closed_on_time = excluded.closed_on_time",
                [(i, *(self.cases[i][c] for c in _CASE_COLUMNS)) for i in self.dirty_cases],
            )
        if self.new_accounts:
            await self.conn.executemany(
                "INSERT INTO assessment_accounts VALUES ($1, $2) ON CONFLICT DO NOTHING",
                self.new_accounts,
            )

    # -- unit paths ------------------------------------------------------------------------

    async def _resolve_paths(self) -> None:
        """Give every waiting fact its unit's path from the tree as it stands now."""
        missing = {f[_PATH_AT - 1] for f in self.unresolved} - self.paths.keys()
        missing.discard(None)
        if missing:
            rows = await self.conn.fetch(_PATHS_SQL, list(missing))
            found = {r["start"]: list(r["path"]) for r in rows}
            self.paths.update({u: found.get(u) or [u] for u in missing})
        for fact in self.unresolved:
            unit = fact[_PATH_AT - 1]
            fact[_PATH_AT] = [] if unit is None else self.paths[unit]
            self.facts.append(tuple(fact))
        self.unresolved = []

    async def _grid(self, e: Any, kind: str) -> None:
        if kind not in ("Created", "Moved"):
            return
        await self._resolve_paths()  # facts so far count under the tree before this change
        self.paths.clear()
        if kind == "Created":
            await self.conn.execute(
                "INSERT INTO assessment_units VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                e.originator_id, e.parent_id, e.level,
            )  # fmt: skip
        else:
            await self.conn.execute(
                "UPDATE assessment_units SET parent_id = $2 WHERE id = $1",
                e.originator_id, e.new_parent_id,
            )  # fmt: skip

    # -- staff scopes ----------------------------------------------------------------------

    def _staff(self, e: Any, kind: str) -> None:
        if kind not in ("Appointed", "Reassigned", "Relieved"):
            return
        scope = None if kind == "Relieved" else e.scope_unit_id
        row = (e.originator_id, e.originator_version, scope, e.effective_from)
        self.new_scopes.append(row)
        if e.originator_id in self.scopes:
            _add_scope(self.scopes[e.originator_id], row)

    async def _scope_on(self, staff_id: UUID | None, day: date) -> UUID | None:
        if staff_id is None:
            return None
        if staff_id not in self.scopes:
            rows = await self.conn.fetch(
                "SELECT effective_from, version, scope_unit_id FROM assessment_scopes "
                "WHERE staff_id = $1",
                staff_id,
            )
            known = [(r["effective_from"], r["version"], r["scope_unit_id"]) for r in rows]
            for row in self.new_scopes:
                if row[0] == staff_id:
                    _add_scope(known, row)
            self.scopes[staff_id] = known
        current = [s for s in self.scopes[staff_id] if s[0] <= day]
        return max(current, key=lambda s: (s[0], s[1]))[2] if current else None

    # -- facts -----------------------------------------------------------------------------

    def _fact(
        self,
        rec: Recorded,
        measure: str,
        *,
        value: int,
        member_id: UUID | None,
        unit_id: UUID | None,
        when: datetime,
        ref_id: UUID | None = None,
    ) -> None:
        e = rec.event
        self.unresolved.append([
            rec.position, measure, e.originator_id, e.originator_version, type(e).__name__,
            member_id, unit_id, None, value, ref_id, when,
        ])  # fmt: skip

    def _visit(self, rec: Recorded, kind: str) -> None:
        e = rec.event
        if kind == "Recorded":
            when = occurred_at(e.visited_at, e.timestamp)
            self._fact(rec, "visit", value=1, member_id=e.meta.actor_id, unit_id=e.grid_id,
                       when=when, ref_id=e.household_id)  # fmt: skip
            if e.originator_id in self.voided:
                first = {"member_id": e.meta.actor_id, "unit_id": e.grid_id,
                         "ref_id": e.household_id, "occurred_at": when}  # fmt: skip
                self.first_visits.setdefault(e.originator_id, first)
        elif kind == "Voided" and (counted := self.first_visits.get(e.originator_id)):
            # A voided visit takes its count back in the period it was recorded for.
            self._fact(rec, "visit", value=-1, member_id=counted["member_id"],
                       unit_id=counted["unit_id"], when=counted["occurred_at"],
                       ref_id=counted["ref_id"])  # fmt: skip

    def _case(self, rec: Recorded, kind: str) -> None:
        e = rec.event
        if kind == "Reported":
            member = e.reporter.staff_id or e.meta.actor_id
            if e.originator_id not in self.cases:
                self.cases[e.originator_id] = {
                    "member_id": member, "unit_id": e.holder_unit_id,
                    "breached": False, "closed_on_time": None,
                }  # fmt: skip
                self.dirty_cases.add(e.originator_id)
            when = occurred_at(e.meta.client_time, e.timestamp)
            self._fact(rec, "case_reported", value=1, member_id=member,
                       unit_id=e.holder_unit_id, when=when, ref_id=e.originator_id)  # fmt: skip
            return
        case = self.cases.get(e.originator_id)
        if case is None or kind not in ("Closed", "Reopened", "SlaBreached"):
            return
        self._case_change(rec, kind, case)

    def _case_change(self, rec: Recorded, kind: str, case: dict[str, Any]) -> None:
        e, who = rec.event, {"member_id": case["member_id"], "unit_id": case["unit_id"]}
        when, ref = occurred_at(e.meta.client_time, e.timestamp), e.originator_id
        self.dirty_cases.add(ref)
        if kind == "SlaBreached":
            case["breached"] = True
            self._fact(rec, "case_overdue", value=1, when=when, ref_id=ref, **who)
        elif kind == "Closed":
            on_time = not case["breached"]
            case["closed_on_time"] = on_time
            self._fact(rec, "case_closed", value=1, when=when, ref_id=ref, **who)
            if on_time:
                self._fact(rec, "case_closed_on_time", value=1, when=when, ref_id=ref, **who)
        elif (was_on_time := case["closed_on_time"]) is not None:  # Reopened: closing undone
            case["closed_on_time"] = None
            self._fact(rec, "case_closed", value=-1, when=when, ref_id=ref, **who)
            if was_on_time:
                self._fact(rec, "case_closed_on_time", value=-1, when=when, ref_id=ref, **who)

    async def _mediation(self, rec: Recorded, kind: str) -> None:
        e = rec.event
        if kind != "Concluded" or e.outcome != "agreement":
            return
        when = occurred_at(e.meta.client_time, e.timestamp)
        unit = await self._scope_on(e.meta.actor_id, business_day(when, self.zone))
        self._fact(rec, "mediation_succeeded", value=1, member_id=e.meta.actor_id,
                   unit_id=unit, when=when, ref_id=e.originator_id)  # fmt: skip

    async def _account(self, rec: Recorded, kind: str) -> None:
        e = rec.event
        if kind == "Opened":
            if e.owner_kind == "staff" and e.originator_id not in self.accounts:
                self.accounts[e.originator_id] = e.owner_id
                self.new_accounts.append((e.originator_id, e.owner_id))
            return
        move, staff_id = _POINT_MOVES.get(kind), self.accounts.get(e.originator_id)
        if move is None or staff_id is None:
            return
        measure, field, sign = move
        unit = await self._scope_on(staff_id, e.on)
        self._fact(rec, measure, value=sign * int(getattr(e, field)), member_id=staff_id,
                   unit_id=unit, when=e.timestamp, ref_id=e.award_id)  # fmt: skip


def _add_scope(known: list[tuple[date, int, UUID | None]], row: tuple[Any, ...]) -> None:
    """An appointment as ``INSERT ... ON CONFLICT DO NOTHING`` on (staff, version) adds it."""
    _, version, scope, effective_from = row
    if all(v != version for _, v, _ in known):
        known.append((effective_from, version, scope))
