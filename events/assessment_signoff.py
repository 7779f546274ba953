"""Sign-off (审核签字) of a period for a grid unit, child first: grid → village → town.

A sign-off freezes the unit's score for the period: the event keeps the score, the scheme
version it was computed with and which facts it covered (every fact of the unit and period
folded at or before ``through_position``; ``fact_count`` and ``facts_digest`` let an auditor
check the set). Events that arrive later never change it; readers show them as post-lock
adjustments. A sign-off is final: its id derives from (period, unit), so signing twice
collides in the event store.
"""

from collections.abc import Sequence
from datetime import date
from typing import Final, Self
from uuid import UUID, uuid5

import msgspec
from eventsourcing.domain import Aggregate, event

from events.assessment_errors import SignOffOutOfOrder
from events.assessment_period import AssessmentPeriod
from events.errors import InvalidValue
from events.meta import EventMeta

__all__ = ["SIGNOFF_NAMESPACE", "AssessmentSignOff", "FrozenScore", "SignedUnit"]

SIGNOFF_NAMESPACE: Final = UUID("5f0b7d8e-0a51-4a3c-b4a4-5ad6c2bb6a90")


class FrozenScore(msgspec.Struct, frozen=True, kw_only=True):
    """A member's score frozen with the grid's (text: an exact decimal with two places)."""

    staff_id: UUID
    score: str


class SignedUnit(msgspec.Struct, frozen=True, kw_only=True):
    """A child unit and whether its sign-off exists (loaded from the event store)."""

    unit_id: UUID
    signed: bool


class AssessmentSignOff(Aggregate):
    class Signed(Aggregate.Created):
        period_id: str
        unit_id: UUID
        unit_level: int
        scheme_code: str
        scheme_version: int
        score: str
        through_position: int
        fact_count: int
        facts_digest: str
        member_scores: tuple[FrozenScore, ...]
        children: tuple[UUID, ...]
        meta: EventMeta

    @staticmethod
    def create_id(period_id: str, unit_id: UUID) -> UUID:
        """eventsourcing hook: one sign-off per period and unit."""
        return uuid5(SIGNOFF_NAMESPACE, f"assessment-signoff:{period_id}:{unit_id}")

    @classmethod
    def id_for(cls, period_id: str, unit_id: UUID) -> UUID:
        return cls.create_id(period_id, unit_id)

    @classmethod
    def sign(
        cls,
        *,
        period: AssessmentPeriod,
        unit_id: UUID,
        unit_level: int,
        children: Sequence[SignedUnit],
        today: date,
        scheme_code: str,
        scheme_version: int,
        score: str,
        through_position: int,
        fact_count: int,
        facts_digest: str,
        member_scores: tuple[FrozenScore, ...],
        meta: EventMeta,
    ) -> Self:
        """Sign off ``unit_id`` for ``period`` once every child unit is signed off."""
        _check_order(period, unit_level, children, today)
        return cls(
            period_id=period.id,
            unit_id=unit_id,
            unit_level=unit_level,
            scheme_code=scheme_code,
            scheme_version=scheme_version,
            score=score,
            through_position=through_position,
            fact_count=fact_count,
            facts_digest=facts_digest,
            member_scores=member_scores,
            children=tuple(c.unit_id for c in children),
            meta=meta,
        )

    @event(Signed)
    def __init__(
        self,
        period_id: str,
        unit_id: UUID,
        unit_level: int,
        scheme_code: str,
        scheme_version: int,
        score: str,
        through_position: int,
        fact_count: int,
        facts_digest: str,
        member_scores: tuple[FrozenScore, ...],
        children: tuple[UUID, ...],
        meta: EventMeta,
    ) -> None:
        self.period_id = period_id
        self.unit_id = unit_id
        self.unit_level = unit_level
        self.scheme_code = scheme_code
        self.scheme_version = scheme_version
        self.score = score
        self.through_position = through_position
        self.fact_count = fact_count
        self.facts_digest = facts_digest
        self.member_scores = member_scores
        self.children = children


def _check_order(
    period: AssessmentPeriod, unit_level: int, children: Sequence[SignedUnit], today: date
) -> None:
    if unit_level not in (1, 2, 3):
        raise InvalidValue("only a town, village or grid is signed off", field="unit_level")
    if today < period.start:
        raise SignOffOutOfOrder("the period has not started", period=period.id)
    unsigned = [str(c.unit_id) for c in children if not c.signed]
    if unsigned:
        raise SignOffOutOfOrder(
            "sign off every child unit first (grid → village → town)", unsigned=unsigned
        )
