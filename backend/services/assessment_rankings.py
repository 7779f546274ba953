"""Rankings (打擂台): villages, grids or members inside a unit, best score first, and the
ranking as a CSV file for the notice board meeting or the pay office.

The score ranked is the one a reader of the subject sees: the frozen score once signed off
(its post-lock adjustment shown beside it), the live score before. Equal scores share a
rank (1, 1, 3 …) and are listed by name.

A ranking scores per-period totals (:mod:`projections.assessment_totals`), never the facts: one
query for all subjects, whatever the number of facts in the period. A ranked assessment
therefore carries no facts: its card's lines list none, it has no adjustments listed, and a
signed-off subject's card is its live card under the signed-off scheme version (its total is
the adjusted total); the score ranked is the frozen one. The explanation endpoints read facts.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal
from uuid import UUID

from backend.bootstrap import Container
from backend.services.actor import Actor
from backend.services.assessments import Assessment, AssessmentService, Subject
from backend.services.scope import require_role, require_unit_in_scope
from events.assessment import SchemeVersion
from events.assessment_period import AssessmentPeriod, parse_period
from events.assessment_scoring import Tally, score_tally
from projections import assessment_totals, grid_tree

__all__ = ["RankedSubject", "RankingLevel", "RankingService", "ranking_csv"]

RankingLevel = Literal["village", "grid", "member"]
_LEVELS = {"village": 2, "grid": 3}
RANKERS = ("grid_head", "supervisor", "auditor", "admin")


@dataclass(frozen=True, kw_only=True)
class RankedSubject:
    rank: int
    score: Decimal
    assessment: Assessment


class RankingService:
    def __init__(self, container: Container) -> None:
        self.pool = container.pool
        self.scores = AssessmentService(container)

    async def rank(
        self,
        actor: Actor,
        period_id: str,
        *,
        scheme: str,
        level: RankingLevel,
        within: UUID | None,
    ) -> list[RankedSubject]:
        period = parse_period(period_id)
        require_role(actor, *RANKERS)
        root = await require_unit_in_scope(self.pool, actor, within or actor.scope_unit_id)
        version = await self.scores.scheme_version(scheme, period)  # 40475 before any work
        subjects = await self._subjects(root["id"], level)
        through, tallies = await assessment_totals.read_tallies(
            self.pool, period_id=period.id, kind="member" if level == "member" else "unit",
            subject_ids=[s.id for s in subjects],
        )  # fmt: skip
        assessed = [
            await self._assessed(period, version, s, tallies[s.id], through=through)
            for s in subjects
        ]
        return _ranked(assessed)

    async def _assessed(
        self,
        period: AssessmentPeriod,
        version: SchemeVersion,
        subject: Subject,
        counts: Tally,
        *,
        through: int,
    ) -> Assessment:
        """The subject scored from its totals; signed off, under the version it was signed
        with (the frozen score is the lock's, the card's total the adjusted one)."""
        lock = await self.scores.lock(period.id, subject)
        if lock is not None:
            version = await self.scores.exact_version(version.code, lock)
        scale = await self.scores.scale(subject)
        card = score_tally(version, counts, scale=scale, through_position=through)
        adjusted = None if lock is None else card.total
        return Assessment(subject=subject, period=period, card=card, lock=lock,
                          adjustments=(), adjusted_total=adjusted)  # fmt: skip

    async def _subjects(self, root: UUID, level: RankingLevel) -> list[Subject]:
        if level == "member":
            rows = await self.pool.fetch(
                "SELECT s.id, s.name, s.scope_unit_id FROM staff s JOIN grid_units u ON "
                "u.id = s.scope_unit_id WHERE u.path @> ARRAY[$1]::uuid[] AND "
                "s.role = 'grid_member' AND s.status = 'active'",
                root,
            )
            return [
                Subject(
                    kind="member",
                    id=r["id"],
                    name=r["name"],
                    level=None,
                    scope_unit_id=r["scope_unit_id"],
                )
                for r in rows
            ]
        units = await grid_tree.list_units(
            self.pool, scope_unit_id=root, level=_LEVELS[level], include_retired=False
        )
        return [
            Subject(
                kind="unit", id=u["id"], name=u["name"], level=u["level"], scope_unit_id=u["id"]
            )
            for u in units
        ]


def shown_score(assessment: Assessment) -> Decimal:
    return assessment.lock.score if assessment.lock else assessment.card.total


def _ranked(assessed: list[Assessment]) -> list[RankedSubject]:
    ordered = sorted(assessed, key=lambda a: (-shown_score(a), a.subject.name, str(a.subject.id)))
    ranked: list[RankedSubject] = []
    for index, item in enumerate(ordered):
        value = shown_score(item)
        tied = ranked and ranked[-1].score == value
        rank = ranked[-1].rank if tied else index + 1
        ranked.append(RankedSubject(rank=rank, score=value, assessment=item))
    return ranked


_HEADER = (
    "rank",
    "subject_kind",
    "subject_id",
    "name",
    "score",
    "signed_off",
    "post_lock_delta",
    "scheme",
    "scheme_version",
    "period",
)


def _csv_cell(value: object) -> str:
    # Spreadsheets run cells starting with = + - @ as formulas: quote names defensively.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def ranking_csv(ranked: list[RankedSubject]) -> str:
    """The ranking as CSV (UTF-8 with BOM, so Excel on a township PC reads the Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_HEADER)
    for item in ranked:
        a = item.assessment
        delta = (a.adjusted_total - a.lock.score) if a.lock and a.adjusted_total is not None else ""
        writer.writerow(
            _csv_cell(v)
            for v in (
                item.rank,
                a.subject.kind,
                a.subject.id,
                a.subject.name,
                item.score,
                a.lock is not None,
                delta,
                a.card.scheme_code,
                a.card.scheme_version,
                a.period.id,
            )
        )
    return "\ufeff" + out.getvalue()
