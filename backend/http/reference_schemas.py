"""Wire types of the reference-data endpoints (kept apart from the domain's values).

Bounds here keep numbers inside what the read model stores; the domain's own rules (code
format, yellow before red, caps against points, ...) answer 40010 from the aggregates.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec

from backend.http.wire import RequestBody
from backend.services.reference import CalendarYear, PointRuleInfo, PolicyInfo, ReferenceBundle
from events.case_states import Stage
from events.point_rules import Commendation, RuleTarget, RuleTerms, RuleTrigger, RuleVersion
from events.sla import SlaRule

__all__ = [
    "CaseCategoryView",
    "DefineCaseCategory",
    "DefinePointRule",
    "PointRuleDetailView",
    "PointRuleView",
    "ReferenceDataView",
    "RelabelCaseCategory",
    "ReplaceSlaRules",
    "RetireCaseCategory",
    "RetirePointRule",
    "RevisePointRule",
    "SetCalendarYear",
    "SlaPolicyView",
    "WorkingCalendarView",
    "bundle_view",
    "calendar_view",
    "category_view",
    "policy_view",
    "rule_detail_view",
    "rule_view",
    "to_terms",
]

CategoryCode = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
RuleCode = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Points = Annotated[int, msgspec.Meta(ge=-100_000, le=100_000)]
Cap = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Fraction = Annotated[float, msgspec.Meta(gt=0, le=10)]


# -- requests --------------------------------------------------------------------------------


class DefineCaseCategory(RequestBody):
    code: CategoryCode
    label: Label
    parent_code: CategoryCode | None = None
    mediation_eligible: bool = False


class RelabelCaseCategory(RequestBody):
    label: Label


class RetireCaseCategory(RequestBody):
    reason: Reason


class SlaRuleBody(RequestBody):
    """Exactly one of ``limit_hours`` / ``limit_days``; ``yellow_at`` < ``red_at`` are the
    fractions of the allowed working time at which a stage turns yellow and red."""

    level: Annotated[int, msgspec.Meta(ge=1, le=4)]
    stage: Stage
    category: CategoryCode | None = None
    limit_hours: Annotated[float, msgspec.Meta(gt=0, le=10_000)] | None = None
    limit_days: Annotated[int, msgspec.Meta(ge=0, le=365)] | None = None
    yellow_at: Fraction = 0.75
    red_at: Fraction = 1.0

    def to_rule(self) -> SlaRule:
        return SlaRule(**msgspec.structs.asdict(self))


class ReplaceSlaRules(RequestBody):
    """The whole rule set; an empty list goes back to the default policy."""

    rules: Annotated[list[SlaRuleBody], msgspec.Meta(max_length=500)]


class SetCalendarYear(RequestBody):
    """The year's public holidays and make-up working days (调休上班, on weekends)."""

    holidays: Annotated[list[date], msgspec.Meta(max_length=100)]
    makeup_days: Annotated[list[date], msgspec.Meta(max_length=20)] = []


class DefinePointRule(RequestBody):
    code: RuleCode
    trigger: RuleTrigger
    target: RuleTarget
    points: Points
    label: Label
    daily_cap: Cap | None = None
    total_cap: Cap | None = None
    commendation: Commendation | None = None
    effective_from: date | None = None


class RevisePointRule(RequestBody):
    points: Points
    label: Label
    daily_cap: Cap | None = None
    total_cap: Cap | None = None
    commendation: Commendation | None = None
    effective_from: date | None = None


def to_terms(body: DefinePointRule | RevisePointRule) -> RuleTerms:
    return RuleTerms(
        points=body.points,
        daily_cap=body.daily_cap,
        total_cap=body.total_cap,
        commendation=body.commendation,
        label=body.label,
    )


class RetirePointRule(RequestBody):
    reason: Reason
    effective_from: date | None = None


# -- responses -------------------------------------------------------------------------------


class CaseCategoryView(msgspec.Struct, kw_only=True):
    code: str
    label: str
    parent_code: str | None
    mediation_eligible: bool
    active: bool
    version: int


class PointRuleVersionView(msgspec.Struct, kw_only=True):
    rule_version: int
    points: int
    daily_cap: int | None
    total_cap: int | None
    commendation: str | None
    label: str
    effective_from: date


class PointRuleView(msgspec.Struct, kw_only=True):
    code: str
    trigger: str
    target: str
    retired_from: date | None
    version: int
    current: PointRuleVersionView


class PointRuleDetailView(PointRuleView, kw_only=True):
    versions: list[PointRuleVersionView]


class SlaRuleView(msgspec.Struct, kw_only=True):
    level: int
    stage: str
    category: str | None
    limit_hours: float | None
    limit_days: int | None
    yellow_at: float
    red_at: float


class SlaPolicyView(msgspec.Struct, kw_only=True):
    source: Literal["admin", "default"]
    version: int
    rules: list[SlaRuleView]


class WorkingCalendarView(msgspec.Struct, kw_only=True):
    year: int
    source: Literal["built-in", "override", "weekdays-only"]
    covered: bool
    holidays: list[date]
    makeup_days: list[date]


class ReferenceDataView(msgspec.Struct, kw_only=True):
    revision: int
    categories: list[CaseCategoryView]
    point_rules: list[PointRuleView]
    sla: SlaPolicyView


def category_view(row: Any) -> CaseCategoryView:
    return msgspec.convert(dict(row), CaseCategoryView)


def _version_view(source: Any) -> PointRuleVersionView:
    fields = PointRuleVersionView.__struct_fields__
    if isinstance(source, RuleVersion):
        return PointRuleVersionView(**{f: getattr(source, f) for f in fields})
    return PointRuleVersionView(
        **{f: source[f] for f in fields if f != "rule_version"},
        rule_version=source["current_version"],
    )


def rule_view(row: Any) -> PointRuleView:
    return PointRuleView(
        code=row["code"],
        trigger=row["trigger"],
        target=row["target"],
        retired_from=row["retired_from"],
        version=row["version"],
        current=_version_view(row),
    )


def rule_detail_view(info: PointRuleInfo) -> PointRuleDetailView:
    base = rule_view(info.current)
    return PointRuleDetailView(
        **msgspec.structs.asdict(base), versions=[_version_view(v) for v in info.versions]
    )


def policy_view(info: PolicyInfo) -> SlaPolicyView:
    return SlaPolicyView(
        source=info.source,
        version=info.version,
        rules=[SlaRuleView(**msgspec.structs.asdict(r)) for r in info.policy.rules],
    )


def calendar_view(year: CalendarYear) -> WorkingCalendarView:
    return WorkingCalendarView(
        year=year.year,
        source=year.source,
        covered=year.covered,
        holidays=year.holidays,
        makeup_days=year.makeup_days,
    )


def bundle_view(bundle: ReferenceBundle) -> ReferenceDataView:
    return ReferenceDataView(
        revision=bundle.revision,
        categories=[category_view(r) for r in bundle.categories],
        point_rules=[rule_view(r) for r in bundle.point_rules],
        sla=policy_view(bundle.policy),
    )
