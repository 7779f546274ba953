"""Reference data endpoints: every staff member reads (phones keep the bundle offline); only
admins change categories, point rules, SLA rules and the holiday calendar."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromQuery, JSONBody, PathParameter

from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.reference_schemas import (
    CaseCategoryView,
    DefineCaseCategory,
    DefinePointRule,
    PointRuleDetailView,
    PointRuleView,
    ReferenceDataView,
    RelabelCaseCategory,
    ReplaceSlaRules,
    RetireCaseCategory,
    RetirePointRule,
    RevisePointRule,
    SetCalendarYear,
    SlaPolicyView,
    WorkingCalendarView,
    bundle_view,
    calendar_view,
    category_view,
    policy_view,
    rule_detail_view,
    rule_view,
    to_terms,
)
from backend.http.responses import READ_ERRORS, WRITE_ERRORS
from backend.http.wire import PathText
from backend.services import reference
from backend.services.reference_admin import ReferenceAdmin
from projections import reference_data

__all__ = ["ReferenceController"]

Year = Annotated[int, PathParameter(ge=2000, le=2100)]


class ReferenceController(Controller):
    path = "/v1/reference"
    tags = ["reference"]
    dependencies = actor_dependency
    security = BEARER

    @get(
        operation_id="getReferenceData",
        summary="Everything a phone keeps offline",
        responses=READ_ERRORS,
    )
    async def bundle(self, container: ContainerDep, actor: ActorDep) -> ReferenceDataView:
        return bundle_view(await reference.reference_bundle(container))

    # -- case categories -------------------------------------------------------------------

    @get("/case-categories", operation_id="listCaseCategories", responses=READ_ERRORS)
    async def list_categories(
        self, container: ContainerDep, actor: ActorDep, include_retired: FromQuery[bool] = False
    ) -> list[CaseCategoryView]:
        rows = await reference_data.list_categories(container.pool, include_retired=include_retired)
        return [category_view(r) for r in rows]

    @post("/case-categories", operation_id="defineCaseCategory", responses=WRITE_ERRORS)
    async def define_category(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[DefineCaseCategory]
    ) -> CaseCategoryView:
        row = await ReferenceAdmin(container, actor).define_category(
            code=data.code,
            label=data.label,
            parent_code=data.parent_code,
            mediation_eligible=data.mediation_eligible,
        )
        return category_view(row)

    @post(
        "/case-categories/{code:str}/relabel",
        operation_id="relabelCaseCategory",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def relabel_category(
        self,
        container: ContainerDep,
        actor: ActorDep,
        code: PathText,
        data: JSONBody[RelabelCaseCategory],
    ) -> CaseCategoryView:
        admin = ReferenceAdmin(container, actor)
        return category_view(await admin.relabel_category(code, label=data.label))

    @post(
        "/case-categories/{code:str}/retire",
        operation_id="retireCaseCategory",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def retire_category(
        self,
        container: ContainerDep,
        actor: ActorDep,
        code: PathText,
        data: JSONBody[RetireCaseCategory],
    ) -> CaseCategoryView:
        admin = ReferenceAdmin(container, actor)
        return category_view(await admin.retire_category(code, reason=data.reason))

    # -- SLA rules and the working calendar ---------------------------------------------------

    @get(
        "/sla-rules",
        operation_id="getSlaRules",
        summary="The effective SLA policy (the default until an admin sets rules)",
        responses=READ_ERRORS,
    )
    async def sla_rules(self, container: ContainerDep, actor: ActorDep) -> SlaPolicyView:
        return policy_view(await reference.policy_info(container))

    @post(
        "/sla-rules",
        operation_id="replaceSlaRules",
        summary="Replace the whole SLA rule set (an empty list restores the default)",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def replace_sla_rules(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[ReplaceSlaRules]
    ) -> SlaPolicyView:
        await ReferenceAdmin(container, actor).replace_sla_rules([r.to_rule() for r in data.rules])
        return policy_view(await reference.policy_info(container))

    @get(
        "/calendar/{year:int}",
        operation_id="getWorkingCalendar",
        summary="A year's holidays and make-up working days as SLA deadlines use them",
        responses=READ_ERRORS,
    )
    async def calendar(
        self, container: ContainerDep, actor: ActorDep, year: Year
    ) -> WorkingCalendarView:
        return calendar_view(await reference.calendar_year(container, year))

    @post(
        "/calendar/{year:int}",
        operation_id="setCalendarYear",
        summary="Override a year's holiday arrangement (replaces the built-in data)",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def set_calendar_year(
        self, container: ContainerDep, actor: ActorDep, year: Year, data: JSONBody[SetCalendarYear]
    ) -> WorkingCalendarView:
        await ReferenceAdmin(container, actor).set_calendar_year(
            year, holidays=data.holidays, makeup_days=data.makeup_days
        )
        return calendar_view(await reference.calendar_year(container, year))

    @post(
        "/calendar/{year:int}/clear",
        operation_id="clearCalendarYear",
        summary="Drop a year's override: the built-in data (or Mon–Fri) applies again",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def clear_calendar_year(
        self, container: ContainerDep, actor: ActorDep, year: Year
    ) -> WorkingCalendarView:
        await ReferenceAdmin(container, actor).clear_calendar_year(year)
        return calendar_view(await reference.calendar_year(container, year))

    # -- point rules -----------------------------------------------------------------------

    @get("/point-rules", operation_id="listPointRules", responses=READ_ERRORS)
    async def list_point_rules(
        self, container: ContainerDep, actor: ActorDep, include_retired: FromQuery[bool] = False
    ) -> list[PointRuleView]:
        rows = await reference_data.list_point_rules(
            container.pool, include_retired=include_retired
        )
        return [rule_view(r) for r in rows]

    @get("/point-rules/{code:str}", operation_id="getPointRule", responses=READ_ERRORS)
    async def get_point_rule(
        self, container: ContainerDep, actor: ActorDep, code: PathText
    ) -> PointRuleDetailView:
        return rule_detail_view(await reference.point_rule_info(container, code))

    @post("/point-rules", operation_id="definePointRule", responses=WRITE_ERRORS)
    async def define_point_rule(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[DefinePointRule]
    ) -> PointRuleDetailView:
        info = await ReferenceAdmin(container, actor).define_point_rule(
            code=data.code,
            trigger=data.trigger,
            target=data.target,
            terms=to_terms(data),
            effective_from=data.effective_from or container.clock.today(),
        )
        return rule_detail_view(info)

    @post(
        "/point-rules/{code:str}/revise",
        operation_id="revisePointRule",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def revise_point_rule(
        self,
        container: ContainerDep,
        actor: ActorDep,
        code: PathText,
        data: JSONBody[RevisePointRule],
    ) -> PointRuleDetailView:
        info = await ReferenceAdmin(container, actor).revise_point_rule(
            code,
            terms=to_terms(data),
            effective_from=data.effective_from or container.clock.today(),
        )
        return rule_detail_view(info)

    @post(
        "/point-rules/{code:str}/retire",
        operation_id="retirePointRule",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def retire_point_rule(
        self,
        container: ContainerDep,
        actor: ActorDep,
        code: PathText,
        data: JSONBody[RetirePointRule],
    ) -> PointRuleDetailView:
        info = await ReferenceAdmin(container, actor).retire_point_rule(
            code, effective_from=data.effective_from or container.clock.today(), reason=data.reason
        )
        return rule_detail_view(info)
