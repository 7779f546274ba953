"""Read model behind assessments: one row per (event, measure) that counts towards a score.

Each row says which event (aggregate id, version, log position), which member and which grid
unit it counts for *as things stood when it happened*, the measure and its value, and when it
happened. Scores are sums over these rows, and an explanation lists them, so every mark
traces back to events in the log.

Attribution, chosen so a move or reassignment later never rewrites history:

* a visit counts for its visitor and the household's grid at visit time (the event says so);
* a case counts for its reporter and the grid it was reported in (小事不出网格: the grid of
  origin answers for it) — reported, closed, closed on time (no SLA breach before closing),
  overdue (each SLA breach); a reopened case takes its closing back;
* a mediation with an agreement counts for the staff member who concluded it, in the unit
  they were assigned to that day; points count for the staff member owning the account.

The projection keeps its own copies of the grid tree's parents and the staff assignment
history (``assessment_units``, ``assessment_scopes``) because projections fold independently:
reading another projection's tables here could see them behind this one.

``occurred_at`` is the phone's time when the phone reported one (offline days count for the
day the work was done), trusted only within ``CLIENT_TIME_WINDOW`` before the server received
it and never after it; otherwise the server's time. Periods are decided on its business day in
the zone the projection is built with (``GRIDLEDGER_BUSINESS_TIMEZONE``, Beijing by default),
so a rebuild under the same setting decides the same periods.

A batch is folded in memory and written with a few statements
(:mod:`projections.assessment_facts_fold`), with the same result as one event at a time; the
per-period totals that rankings read (:mod:`projections.assessment_totals`) are folded with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import asyncpg

from events.business_date import DEFAULT_BUSINESS_ZONE, business_zone
from projections.assessment_facts_fold import (
    ACCOUNT,
    CASES,
    CLIENT_TIME_WINDOW,
    GRID,
    MEDIATION,
    STAFF,
    VISIT,
    BatchFold,
)
from projections.assessment_totals import TOTALS_TABLES, totals_ddl
from projections.engine import Recorded

__all__ = ["CLIENT_TIME_WINDOW", "AssessmentFactsProjection"]

_PREFIXES = (GRID, STAFF, VISIT, *CASES, MEDIATION, ACCOUNT)


class AssessmentFactsProjection:
    name = "assessment_facts"
    tables: tuple[str, ...] = (
        "assessment_facts",
        "assessment_units",
        "assessment_scopes",
        "assessment_cases",
        "assessment_accounts",
        *TOTALS_TABLES,
    )
    _DDL = """
    CREATE TABLE IF NOT EXISTS assessment_facts (
        position bigint NOT NULL,
        measure text NOT NULL,
        aggregate_id uuid NOT NULL,
        aggregate_version int NOT NULL,
        event_type text NOT NULL,
        member_id uuid,
        unit_id uuid,
        unit_path uuid[] NOT NULL,
        value int NOT NULL,
        ref_id uuid,
        occurred_at timestamptz NOT NULL,
        PRIMARY KEY (position, measure)
    );
    CREATE INDEX IF NOT EXISTS assessment_facts_path ON assessment_facts USING gin (unit_path);
    CREATE INDEX IF NOT EXISTS assessment_facts_member ON assessment_facts (member_id, occurred_at);
    CREATE INDEX IF NOT EXISTS assessment_facts_time ON assessment_facts (occurred_at);
    -- A voiding looks up the visit's count (without this, a scan of every fact per batch).
    CREATE INDEX IF NOT EXISTS assessment_facts_counted_visit ON assessment_facts (aggregate_id)
        WHERE measure = 'visit' AND value = 1;
    CREATE TABLE IF NOT EXISTS assessment_units (
        id uuid PRIMARY KEY,
        parent_id uuid,
        level int NOT NULL
    );
    CREATE TABLE IF NOT EXISTS assessment_scopes (
        staff_id uuid NOT NULL,
        version int NOT NULL,
        scope_unit_id uuid,
        effective_from date NOT NULL,
        PRIMARY KEY (staff_id, version)
    );
    CREATE TABLE IF NOT EXISTS assessment_cases (
        id uuid PRIMARY KEY,
        member_id uuid,
        unit_id uuid NOT NULL,
        breached boolean NOT NULL DEFAULT false,
        closed_on_time boolean
    );
    CREATE TABLE IF NOT EXISTS assessment_accounts (
        id uuid PRIMARY KEY,
        staff_id uuid NOT NULL
    );
    """

    def __init__(self, zone: ZoneInfo | None = None) -> None:
        self.zone = zone or business_zone(DEFAULT_BUSINESS_ZONE)
        self.ddl = self._DDL + totals_ddl(self.zone)

    def interested(self, topic: str) -> bool:
        return topic.startswith(_PREFIXES)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        await BatchFold(conn, self.zone).run(batch)
