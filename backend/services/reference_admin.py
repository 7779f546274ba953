"""Use cases of an admin managing reference data: case categories, point rules, SLA rules and
holiday-calendar overrides. Reference data is system-wide, so the role decides, not the scope.

Each method validates in the aggregate (nothing is saved when a command is refused) and
answers from the read model, which the command runner has brought up to the write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from eventsourcing.domain import Aggregate

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.commands import CommandRunner
from backend.services.reference import PointRuleInfo, point_rule_info
from backend.services.scope import require_role
from events.errors import InvalidValue
from events.meta import EventMeta
from events.point_rules import PointRule, RuleTarget, RuleTerms, RuleTrigger
from events.reference import CaseCategory
from events.reference_settings import (
    CALENDAR_OVERRIDES_ID,
    SLA_RULES_ID,
    CalendarOverrides,
    SlaRuleSet,
)
from events.sla import SlaRule
from projections import reference_data

__all__ = ["ReferenceAdmin"]

A = TypeVar("A", bound=Aggregate)


class ReferenceAdmin:
    def __init__(self, container: Container, actor: Actor) -> None:
        require_role(actor, "admin")
        self.container = container
        self.pool = container.pool
        self.commands = CommandRunner(container)
        self.meta: EventMeta = actor.meta()

    # -- case categories -------------------------------------------------------------------

    async def define_category(
        self, *, code: str, label: str, parent_code: str | None, mediation_eligible: bool
    ) -> asyncpg.Record:
        parent = None
        if parent_code is not None:
            parent = await self.commands.load(
                CaseCategory, CaseCategory.id_for_code(parent_code), what="parent category"
            )
        meta = self.meta
        await self.commands.create(
            lambda: CaseCategory.define(
                code=code,
                label=label,
                mediation_eligible=mediation_eligible,
                meta=meta,
                parent=parent,
            ),
            what="case category with this code",
        )
        return await self._category(code)

    async def relabel_category(self, code: str, *, label: str) -> asyncpg.Record:
        await self._change_category(code, lambda c: c.relabel(label, meta=self.meta))
        return await self._category(code)

    async def retire_category(self, code: str, *, reason: str) -> asyncpg.Record:
        await self._change_category(code, lambda c: c.retire(reason, meta=self.meta))
        return await self._category(code)

    async def _change_category(self, code: str, decide: Callable[[CaseCategory], Any]) -> None:
        await self.commands.change(
            CaseCategory, CaseCategory.id_for_code(code), decide, what="case category"
        )

    async def _category(self, code: str) -> asyncpg.Record:
        row = await reference_data.get_category(self.pool, code.strip())
        assert row is not None, "projection awaited after the save"
        return row

    # -- point rules -----------------------------------------------------------------------

    async def define_point_rule(
        self,
        *,
        code: str,
        trigger: RuleTrigger,
        target: RuleTarget,
        terms: RuleTerms,
        effective_from: date,
    ) -> PointRuleInfo:
        meta = self.meta
        await self.commands.create(
            lambda: PointRule.define(
                code=code,
                trigger=trigger,
                target=target,
                terms=terms,
                effective_from=effective_from,
                meta=meta,
            ),
            what="point rule with this code",
        )
        return await point_rule_info(self.container, code)

    async def revise_point_rule(
        self, code: str, *, terms: RuleTerms, effective_from: date
    ) -> PointRuleInfo:
        await self.commands.change(
            PointRule,
            PointRule.id_for_code(code),
            lambda r: r.revise(terms, effective_from, meta=self.meta),
            what="point rule",
        )
        return await point_rule_info(self.container, code)

    async def retire_point_rule(
        self, code: str, *, effective_from: date, reason: str
    ) -> PointRuleInfo:
        await self.commands.change(
            PointRule,
            PointRule.id_for_code(code),
            lambda r: r.retire(effective_from, reason, meta=self.meta),
            what="point rule",
        )
        return await point_rule_info(self.container, code)

    # -- SLA rules and calendar --------------------------------------------------------------

    async def replace_sla_rules(self, rules: Sequence[SlaRule]) -> None:
        """Replace the whole rule set; an empty list goes back to the default policy."""
        await self._check_categories(rules)
        await self._upsert(
            SlaRuleSet,
            SLA_RULES_ID,
            lambda: SlaRuleSet.open(meta=self.meta),
            lambda s: s.replace_rules(rules, meta=self.meta),
            what="SLA rule set",
        )

    async def set_calendar_year(
        self, year: int, *, holidays: Sequence[date], makeup_days: Sequence[date]
    ) -> None:
        await self._upsert(
            CalendarOverrides,
            CALENDAR_OVERRIDES_ID,
            lambda: CalendarOverrides.open(meta=self.meta),
            lambda c: c.set_year(year, tuple(holidays), tuple(makeup_days), meta=self.meta),
            what="calendar overrides",
        )

    async def clear_calendar_year(self, year: int) -> None:
        try:
            await self.commands.change(
                CalendarOverrides,
                CALENDAR_OVERRIDES_ID,
                lambda c: c.clear_year(year, meta=self.meta),
                what="calendar overrides",
            )
        except ApiError as err:
            if err.errcode != 40400:
                raise
            # No override was ever set: the year already uses the built-in data.

    async def _check_categories(self, rules: Sequence[SlaRule]) -> None:
        # A rule for a misspelt category would never match a case and fail silently.
        for index, rule in enumerate(rules):
            if rule.category is None:
                continue
            if await reference_data.get_category(self.pool, rule.category) is None:
                raise InvalidValue(
                    "no such case category", field="category", index=index, value=rule.category
                )

    async def _upsert(
        self,
        cls: type[A],
        aggregate_id: UUID,
        open_: Callable[[], A],
        decide: Callable[[A], Any],
        *,
        what: str,
    ) -> None:
        """Change the singleton, opening it on first use (a racing opener is retried)."""
        try:
            await self.commands.change(cls, aggregate_id, decide, what=what)
            return
        except ApiError as err:
            if err.errcode != 40400:
                raise

        def opened() -> A:
            aggregate = open_()
            decide(aggregate)
            return aggregate

        try:
            await self.commands.create(opened, what=what)
        except ApiError as err:
            if err.errcode != 40911:
                raise
            await self.commands.change(cls, aggregate_id, decide, what=what)
