"""An admin managing assessment schemes (考核办法) as events: define, revise, retire.

Schemes are system-wide reference data, so the role decides, not the scope. Validation is in
the aggregate (nothing is saved when a command is refused); the answer comes from the read
model, which the command runner has brought up to the write.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.commands import CommandRunner
from backend.services.scope import require_role
from events.assessment import (
    DEFAULT_SCHEME_CODE,
    DEFAULT_SCHEME_INDICATORS,
    AssessmentScheme,
    IndicatorSpec,
    validate_scheme_code,
)
from events.assessment_period import PeriodKind
from events.meta import system_meta
from projections import assessment_register

__all__ = ["SchemeAdmin", "ensure_default_scheme", "scheme_versions"]


async def scheme_versions(container: Container, code: str) -> list[dict[str, Any]]:
    """Every version of a scheme, oldest first (40400 if there is no such scheme)."""
    rows = await assessment_register.scheme_versions(container.pool, code.strip())
    if not rows:
        raise ApiError(40400, "no such assessment scheme", code=code[:48])
    return rows


async def ensure_default_scheme(container: Container) -> None:
    """Define the default quarterly scheme as the system unless it exists (demo and first
    start); a second call, or a scheme an admin already revised, changes nothing."""
    try:
        await CommandRunner(container).create(
            lambda: AssessmentScheme.define(
                code=DEFAULT_SCHEME_CODE, period_kind="quarter", label="镇网格员季度考核办法",
                indicators=DEFAULT_SCHEME_INDICATORS, effective_from=date(2020, 1, 1),
                meta=system_meta("assessments"),
            ),
            what="assessment scheme with this code",
        )  # fmt: skip
    except ApiError as err:
        if err.errcode != 40911:
            raise


class SchemeAdmin:
    def __init__(self, container: Container, actor: Actor) -> None:
        require_role(actor, "admin")
        self.container = container
        self.commands = CommandRunner(container)
        self.meta = actor.meta()

    async def define(
        self,
        *,
        code: str,
        period_kind: PeriodKind,
        label: str,
        indicators: tuple[IndicatorSpec, ...],
        effective_from: date,
    ) -> list[dict[str, Any]]:
        meta, code = self.meta, validate_scheme_code(code)
        await self.commands.create(
            lambda: AssessmentScheme.define(
                code=code, period_kind=period_kind, label=label, indicators=indicators,
                effective_from=effective_from, meta=meta,
            ),
            what="assessment scheme with this code",
        )  # fmt: skip
        return await scheme_versions(self.container, code)

    async def revise(
        self, code: str, *, label: str, indicators: tuple[IndicatorSpec, ...], effective_from: date
    ) -> list[dict[str, Any]]:
        await self.commands.change(
            AssessmentScheme,
            AssessmentScheme.id_for_code(code),
            lambda s: s.revise(
                label=label, indicators=indicators, effective_from=effective_from, meta=self.meta
            ),
            what="assessment scheme",
        )
        return await scheme_versions(self.container, code)

    async def retire(self, code: str, *, effective_from: date, reason: str) -> list[dict[str, Any]]:
        await self.commands.change(
            AssessmentScheme,
            AssessmentScheme.id_for_code(code),
            lambda s: s.retire(effective_from, reason, meta=self.meta),
            what="assessment scheme",
        )
        return await scheme_versions(self.container, code)
