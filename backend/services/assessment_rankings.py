"""Rankings (打擂台): villages, grids or members inside a unit, best score first, and the
ranking as a CSV file for the notice board meeting or the pay office.

The score ranked is the one a reader of the subject sees: the frozen score once signed off
(its post-lock adjustment shown beside it), the live score before. Equal scores share a
rank (1, 1, 3 …) and are listed by name.
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
from events.assessment_period import parse_period
from projections import grid_tree

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
        await self.scores.scheme_version(scheme, period)  # 40475 before any work
        subjects = await self._subjects(root["id"], level)
        assessed = [await self.scores.assess(period.id, scheme, s) for s in subjects]
        return _ranked(assessed)

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
