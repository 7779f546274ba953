"""Scores (考核得分) per grid unit and per member for a period, explained down to the events.

Who may read what (a township's practice, re-checked on every request):

* a grid member (or mediator) sees only their own score;
* a grid head (网格长/村干部) sees the units and members inside their scope;
* supervisors, auditors and admins see everything inside their scope (normally the town).

A unit's score pools the facts of its whole subtree; a village is scored as one large grid
(count targets and penalty caps × its number of grids, see :mod:`events.assessment_scoring`).
A member's score pools the facts attributed to them, wherever they worked in the period.

Once a unit is signed off for a period, its score is the frozen one: the explanation is
recomputed from exactly the facts it covered (positions up to ``through_position``) with the
scheme version it used, and facts folded later are listed apart as post-lock adjustments with
the difference they would make. A member's score freezes with the grid sign-off that listed
them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

import asyncpg
import msgspec

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.scope import require_role, require_unit_in_scope
from events.assessment import DEFAULT_SCHEME_CODE, IndicatorSpec, SchemeVersion
from events.assessment_period import AssessmentPeriod, parse_period
from events.assessment_scoring import Fact, ScoreCard, score
from projections import assessment_register, grid_tree, staff_roster

__all__ = ["DEFAULT_SCHEME", "Assessment", "AssessmentService", "Lock", "Subject"]

DEFAULT_SCHEME = DEFAULT_SCHEME_CODE
UNIT_READERS = ("grid_head", "supervisor", "auditor", "admin")


@dataclass(frozen=True, kw_only=True)
class Subject:
    kind: Literal["unit", "member"]
    id: UUID
    name: str
    level: int | None
    scope_unit_id: UUID


@dataclass(frozen=True, kw_only=True)
class Lock:
    unit_id: UUID
    score: Decimal
    scheme_version: int
    through_position: int
    signed_by: UUID | None
    signed_role: str
    signed_at: datetime


@dataclass(frozen=True, kw_only=True)
class Assessment:
    subject: Subject
    period: AssessmentPeriod
    card: ScoreCard
    lock: Lock | None
    adjustments: tuple[Fact, ...]
    adjusted_total: Decimal | None


class AssessmentService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.pool: asyncpg.Pool = container.pool

    # -- subjects and access -----------------------------------------------------------------

    async def unit_subject(self, actor: Actor, unit_id: UUID) -> Subject:
        require_role(actor, *UNIT_READERS)
        unit = await require_unit_in_scope(self.pool, actor, unit_id)
        return _unit_subject(unit)

    async def member_subject(self, actor: Actor, staff_id: UUID) -> Subject:
        staff = await staff_roster.get_staff(self.pool, staff_id)
        if staff is None:
            raise ApiError(40400, "no such staff member", id=str(staff_id))
        if staff_id != actor.staff_id:
            require_role(actor, *UNIT_READERS)
            if not await grid_tree.unit_in_scope(
                self.pool, staff["scope_unit_id"], actor.scope_unit_id
            ):
                raise ApiError(40301, "staff member outside your scope", id=str(staff_id))
        return Subject(
            kind="member", id=staff_id, name=staff["name"], level=None,
            scope_unit_id=staff["scope_unit_id"],
        )  # fmt: skip

    # -- scoring ---------------------------------------------------------------------------

    async def scheme_version(self, code: str, period: AssessmentPeriod) -> SchemeVersion:
        """The version of ``code`` in force on the period's first day (40475 if none)."""
        rows = await assessment_register.scheme_versions(self.pool, code)
        if rows and rows[0]["period_kind"] != period.kind:
            raise ApiError(
                40475, f"this scheme scores {rows[0]['period_kind']} periods, not {period.kind}",
                scheme=code[:48], period=period.id,
            )  # fmt: skip
        live = [r for r in rows if r["retired_from"] is None or period.start < r["retired_from"]]
        found = [r for r in live if r["effective_from"] <= period.start]
        if not found:
            raise ApiError(
                40475, "no version of this scheme is in force for the period",
                scheme=code[:48], period=period.id,
            )  # fmt: skip
        latest = max(found, key=lambda r: (r["effective_from"], r["scheme_version"]))
        return _version(latest)

    async def assess(
        self, period_id: str, scheme: str, subject: Subject, *, through: int | None = None
    ) -> Assessment:
        """The subject's score; ``through`` limits an unlocked score to facts up to a position
        (a grid's sign-off freezes its members on exactly the facts it covered)."""
        period, zone = parse_period(period_id), self.container.clock.zone
        lock = await self._lock(period.id, subject)
        version = (
            await self.scheme_version(scheme, period)
            if lock is None
            else await self._exact_version(scheme, lock.scheme_version)
        )
        position, facts = await assessment_register.read_facts(
            self.pool, start_at=period.starts_at(zone), end_at=period.ends_at(zone),
            unit_id=subject.id if subject.kind == "unit" else None,
            member_id=subject.id if subject.kind == "member" else None,
        )  # fmt: skip
        scale = await self.scale(subject)
        if lock is not None:
            return _locked(subject, period, version, facts, lock, scale=scale, position=position)
        if through is not None:
            facts, position = [f for f in facts if f.position <= through], min(through, position)
        card = score(version, facts, scale=scale, through_position=position)
        return Assessment(subject=subject, period=period, card=card, lock=None,
                          adjustments=(), adjusted_total=None)  # fmt: skip

    async def scale(self, subject: Subject) -> int:
        """How many grids the subject stands for (a member or a grid: 1)."""
        if subject.kind == "member" or subject.level == 3:
            return 1
        grids = await grid_tree.list_units(
            self.pool, scope_unit_id=subject.id, level=3, include_retired=False
        )
        return max(1, len(grids))

    async def exact_version(self, code: str, lock: Lock) -> SchemeVersion:
        """The scheme version a sign-off froze its score with."""
        return await self._exact_version(code, lock.scheme_version)

    async def lock(self, period_id: str, subject: Subject) -> Lock | None:
        """The sign-off freezing the subject's score for the period, if any."""
        return await self._lock(period_id, subject)

    async def _exact_version(self, code: str, number: int) -> SchemeVersion:
        rows = await assessment_register.scheme_versions(self.pool, code)
        for row in rows:
            if row["scheme_version"] == number:
                return _version(row)
        raise ApiError(40475, "the scheme version of this sign-off is not known", scheme=code[:48])

    async def _lock(self, period_id: str, subject: Subject) -> Lock | None:
        if subject.kind == "unit":
            row = await assessment_register.get_signoff(self.pool, period_id, subject.id)
        else:
            row = await self.pool.fetchrow(
                "SELECT * FROM assessment_signoffs WHERE period_id = $1 AND member_scores @> "
                "$2::jsonb ORDER BY position LIMIT 1",
                period_id, json.dumps([{"staff_id": str(subject.id)}]),
            )  # fmt: skip
        return None if row is None else _lock(row, subject)


def _locked(
    subject: Subject,
    period: AssessmentPeriod,
    version: SchemeVersion,
    facts: list[Fact],
    lock: Lock,
    *,
    scale: int,
    position: int,
) -> Assessment:
    """The frozen score, rebuilt from exactly the facts it covered; later ones stand apart."""
    covered = [f for f in facts if f.position <= lock.through_position]
    later = tuple(f for f in facts if f.position > lock.through_position)
    card = score(version, covered, scale=scale, through_position=lock.through_position)
    adjusted = score(version, facts, scale=scale, through_position=position).total
    return Assessment(subject=subject, period=period, card=card, lock=lock,
                      adjustments=later, adjusted_total=adjusted)  # fmt: skip


def _lock(row: asyncpg.Record, subject: Subject) -> Lock:
    frozen = Decimal(row["score"])
    if subject.kind == "member":
        scores = json.loads(row["member_scores"])
        frozen = next(Decimal(m["score"]) for m in scores if m["staff_id"] == str(subject.id))
    return Lock(
        unit_id=row["unit_id"], score=frozen, scheme_version=row["scheme_version"],
        through_position=row["through_position"], signed_by=row["signed_by"],
        signed_role=row["signed_role"], signed_at=row["signed_at"],
    )  # fmt: skip


def _unit_subject(unit: asyncpg.Record) -> Subject:
    return Subject(kind="unit", id=unit["id"], name=unit["name"], level=unit["level"],
                   scope_unit_id=unit["id"])  # fmt: skip


def _version(row: dict[str, object]) -> SchemeVersion:
    return SchemeVersion(
        code=str(row["code"]),
        scheme_version=int(str(row["scheme_version"])),
        period_kind=row["period_kind"],  # type: ignore[arg-type]  # written from the literal
        label=str(row["label"]),
        indicators=msgspec.convert(row["indicators"], tuple[IndicatorSpec, ...]),
        effective_from=row["effective_from"],  # type: ignore[arg-type]  # a date column
    )
