"""Signing a period off (审核签字), child first: grid → village → town.

Who signs (as a township does it):

* a grid: its grid head (网格长, whose scope holds the grid) or a supervisor/admin;
* a village: the village's grid head (scope = the village) or a supervisor/admin;
* the town: a supervisor (town grid office 网格办) or an admin.

Always inside the signer's scope. The order and "only once" are decided against the event
store (the sign-off aggregates of the children), not a read model that might lag. Before
scoring, the facts projection is brought up to the head of the log, so the frozen score
covers every event accepted before the signature.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

import asyncpg
from anyio import to_thread
from eventsourcing.application import AggregateNotFoundError

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.assessments import Assessment, AssessmentService, Subject
from backend.services.commands import CommandRunner
from backend.services.scope import require_role, require_unit_in_scope
from events.assessment_errors import AlreadySignedOff
from events.assessment_period import parse_period
from events.assessment_signoff import AssessmentSignOff, FrozenScore, SignedUnit
from projections import assessment_register, grid_tree

__all__ = ["SIGNERS", "SignOffService"]

SIGNERS: dict[int, tuple[str, ...]] = {
    3: ("grid_head", "supervisor", "admin"),
    2: ("grid_head", "supervisor", "admin"),
    1: ("supervisor", "admin"),
}


class SignOffService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.pool: asyncpg.Pool = container.pool
        self.scores = AssessmentService(container)
        self.commands = CommandRunner(container)

    async def sign(
        self, actor: Actor, period_id: str, unit_id: UUID, *, scheme: str
    ) -> asyncpg.Record:
        period = parse_period(period_id)
        unit = await require_unit_in_scope(self.pool, actor, unit_id)
        if unit["level"] not in SIGNERS:
            raise ApiError(40010, "only a town, village or grid is signed off", level=unit["level"])
        require_role(actor, *SIGNERS[unit["level"]])
        children = await self._children(period.id, unit)
        await self._catch_up()
        subject = Subject(kind="unit", id=unit_id, name=unit["name"], level=unit["level"],
                          scope_unit_id=unit_id)  # fmt: skip
        assessment = await self.scores.assess(period.id, scheme, subject)
        if assessment.lock is not None:
            raise AlreadySignedOff("already signed off", period=period.id, unit_id=str(unit_id))
        members = await self._member_scores(
            period.id, scheme, unit, through=assessment.card.through_position
        )
        card, meta = assessment.card, actor.meta()
        fact_count, digest = _covered(assessment)
        today = self.container.clock.today()
        try:
            await self.commands.create(
                lambda: AssessmentSignOff.sign(
                    period=period, unit_id=unit_id, unit_level=unit["level"],
                    children=children, today=today, scheme_code=card.scheme_code,
                    scheme_version=card.scheme_version, score=str(card.total),
                    through_position=card.through_position, fact_count=fact_count,
                    facts_digest=digest, member_scores=members, meta=meta,
                ),
                what="sign-off",
            )  # fmt: skip
        except ApiError as err:
            if err.errcode != 40911:
                raise
            raise AlreadySignedOff(
                "already signed off", period=period.id, unit_id=str(unit_id)
            ) from None
        row = await assessment_register.get_signoff(self.pool, period.id, unit_id)
        assert row is not None, "projection awaited after the save"
        return row

    async def get(self, actor: Actor, period_id: str, unit_id: UUID) -> asyncpg.Record:
        """The unit's sign-off, for anyone who may read the unit's score."""
        period = parse_period(period_id)
        await self.scores.unit_subject(actor, unit_id)
        row = await assessment_register.get_signoff(self.pool, period.id, unit_id)
        if row is None:
            raise ApiError(40400, "not signed off", period=period.id, unit_id=str(unit_id))
        return row

    async def _children(self, period_id: str, unit: asyncpg.Record) -> list[SignedUnit]:
        if unit["level"] == 3:
            return []
        rows = await grid_tree.list_units(
            self.pool, scope_unit_id=unit["id"], level=unit["level"] + 1, include_retired=False
        )
        ids = [r["id"] for r in rows]
        repository = self.container.event_log.repository

        def signed(child: UUID) -> bool:
            try:
                repository.get(AssessmentSignOff.id_for(period_id, child))
            except AggregateNotFoundError:
                return False
            return True

        flags = await to_thread.run_sync(lambda: [signed(i) for i in ids])
        return [SignedUnit(unit_id=i, signed=f) for i, f in zip(ids, flags, strict=True)]

    async def _catch_up(self) -> None:
        runner = self.container.runner
        head = await runner.head()
        if not await runner.wait_for(head, timeout=10.0):
            raise ApiError(50320, "assessment facts are still catching up; retry shortly")

    async def _member_scores(
        self, period_id: str, scheme: str, unit: asyncpg.Record, *, through: int
    ) -> tuple[FrozenScore, ...]:
        """Members of a grid (assigned to it now, or with work in it in the period), scored on
        the same facts as the grid: up to its ``through`` position."""
        if unit["level"] != 3:
            return ()
        period, zone = parse_period(period_id), self.container.clock.zone
        rows = await self.pool.fetch(
            "SELECT id, name, scope_unit_id FROM staff WHERE role = 'grid_member' AND "
            "status = 'active' AND scope_unit_id = $1 UNION SELECT s.id, s.name, s.scope_unit_id "
            "FROM staff s WHERE s.id IN (SELECT member_id FROM assessment_facts WHERE unit_id = $1"
            " AND occurred_at >= $2 AND occurred_at < $3) ORDER BY id",
            unit["id"], period.starts_at(zone), period.ends_at(zone),
        )  # fmt: skip
        frozen = []
        for row in rows:
            subject = Subject(kind="member", id=row["id"], name=row["name"], level=None,
                              scope_unit_id=row["scope_unit_id"])  # fmt: skip
            assessment = await self.scores.assess(period_id, scheme, subject, through=through)
            if assessment.lock is None:  # frozen already with another grid: keep that one
                frozen.append(FrozenScore(staff_id=row["id"], score=str(assessment.card.total)))
        return tuple(frozen)


def _covered(assessment: Assessment) -> tuple[int, str]:
    """How many facts the score used, and a sha256 over their "position:measure" keys."""
    keys = sorted({(f.position, f.measure) for line in assessment.card.lines for f in line.facts})
    text = "\n".join(f"{position}:{measure}" for position, measure in keys)
    return len(keys), hashlib.sha256(text.encode()).hexdigest()
