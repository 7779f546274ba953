"""Wire types of assessments (考核): schemes, explained scores, rankings and sign-offs."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from backend.http.wire import RequestBody
from backend.services.assessment_rankings import RankedSubject
from backend.services.assessments import Assessment
from events.assessment import IndicatorCode, IndicatorSpec
from events.assessment_period import PeriodKind
from events.assessment_scoring import Fact, ScoreLine

__all__ = [
    "DefineScheme",
    "ExplainView",
    "RankingView",
    "RetireScheme",
    "ReviseScheme",
    "SchemeList",
    "SchemeView",
    "SignOff",
    "SignOffView",
    "explain_view",
    "ranking_view",
    "scheme_view",
    "signoff_view",
]

SchemeCode = Annotated[
    str, msgspec.Meta(min_length=2, max_length=48, pattern="^[a-z][a-z0-9_.-]+$")
]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Marks = Annotated[int, msgspec.Meta(ge=0, le=100)]
Target = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


class Indicator(RequestBody):
    """A scored line (``weight``, ``full_at``, ``zero_below``) or a penalty line
    (``per_occurrence``, ``cap``) — see docs/assessments.md."""

    indicator: IndicatorCode
    weight: Marks = 0
    full_at: Target = 0
    zero_below: Target = 0
    per_occurrence: Marks = 0
    cap: Marks = 0

    def domain(self) -> IndicatorSpec:
        return IndicatorSpec(
            indicator=self.indicator, weight=self.weight, full_at=self.full_at,
            zero_below=self.zero_below, per_occurrence=self.per_occurrence, cap=self.cap,
        )  # fmt: skip


Indicators = Annotated[list[Indicator], msgspec.Meta(min_length=1, max_length=16)]


class DefineScheme(RequestBody):
    """``period_kind``: the kind of period the scheme scores (its targets are for that long)."""

    code: SchemeCode
    label: Label
    indicators: Indicators
    period_kind: PeriodKind = "quarter"
    effective_from: date | None = None


class ReviseScheme(RequestBody):
    label: Label
    indicators: Indicators
    effective_from: date | None = None


class RetireScheme(RequestBody):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    effective_from: date | None = None


class SignOff(RequestBody):
    """``scheme``: the scheme to score with (its version in force on the period's first day)."""

    scheme: SchemeCode = "township"


def to_specs(items: list[Indicator]) -> tuple[IndicatorSpec, ...]:
    return tuple(i.domain() for i in items)


# -- responses -------------------------------------------------------------------------------


class IndicatorView(msgspec.Struct, kw_only=True):
    indicator: str
    weight: int
    full_at: int
    zero_below: int
    per_occurrence: int
    cap: int


class SchemeVersionView(msgspec.Struct, kw_only=True):
    code: str
    period_kind: str
    scheme_version: int
    label: str
    indicators: list[IndicatorView]
    effective_from: date
    retired_from: date | None


class SchemeView(msgspec.Struct, kw_only=True):
    code: str
    versions: list[SchemeVersionView]


class SchemeList(msgspec.Struct, kw_only=True):
    items: list[SchemeVersionView]


def scheme_version_view(row: dict[str, Any]) -> SchemeVersionView:
    return SchemeVersionView(
        code=row["code"], period_kind=row["period_kind"], scheme_version=row["scheme_version"],
        label=row["label"], indicators=[IndicatorView(**i) for i in row["indicators"]],
        effective_from=row["effective_from"], retired_from=row["retired_from"],
    )  # fmt: skip


def scheme_view(rows: list[dict[str, Any]]) -> SchemeView:
    return SchemeView(code=rows[0]["code"], versions=[scheme_version_view(r) for r in rows])


class EventRef(msgspec.Struct, kw_only=True):
    """One event behind a line: ``event_id``@``event_version`` at log ``position``."""

    position: int
    event_id: UUID
    event_version: int
    event_type: str
    measure: str
    value: int
    occurred_at: datetime


class LineView(msgspec.Struct, kw_only=True):
    indicator: str
    kind: Literal["scored", "penalty"]
    value: float | None
    weight: int
    full_at: int
    zero_below: int
    per_occurrence: int
    cap: int
    points: float
    note: str
    event_count: int
    events: list[EventRef]
    """The first ``events_per_line`` events (by log position); ``event_count`` is all of them."""


class LockView(msgspec.Struct, kw_only=True):
    signed_off_unit_id: UUID
    score: float
    scheme_version: int
    through_position: int
    signed_by: UUID | None
    signed_role: str
    signed_at: datetime


class ExplainView(msgspec.Struct, kw_only=True):
    """``score`` is the sum of ``lines[].points`` (never below 0). When ``locked``, the lines
    are the frozen ones and ``adjustments`` lists events folded after the sign-off, with the
    score they would give (``adjusted_score``) and the difference (``adjustment_delta``)."""

    period: str
    period_start: date
    period_end: date
    subject_kind: Literal["unit", "member"]
    subject_id: UUID
    name: str
    level: int | None
    scheme: str
    scheme_version: int
    scale: int
    score: float
    locked: bool
    lock: LockView | None
    lines: list[LineView]
    adjustments: list[EventRef]
    adjusted_score: float | None
    adjustment_delta: float | None


def _ref(f: Fact) -> EventRef:
    return EventRef(
        position=f.position, event_id=f.aggregate_id, event_version=f.aggregate_version,
        event_type=f.event_type, measure=f.measure, value=f.value, occurred_at=f.occurred_at,
    )  # fmt: skip


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _lock(a: Assessment) -> LockView | None:
    if a.lock is None:
        return None
    return LockView(
        signed_off_unit_id=a.lock.unit_id, score=float(a.lock.score),
        scheme_version=a.lock.scheme_version, through_position=a.lock.through_position,
        signed_by=a.lock.signed_by, signed_role=a.lock.signed_role, signed_at=a.lock.signed_at,
    )  # fmt: skip


def _line(line: ScoreLine, cap: int) -> LineView:
    return LineView(
        indicator=line.indicator, kind=line.kind, value=_num(line.value), weight=line.weight,
        full_at=line.full_at, zero_below=line.zero_below, per_occurrence=line.per_occurrence,
        cap=line.cap, points=float(line.points), note=line.note, event_count=len(line.facts),
        events=[_ref(f) for f in line.facts[:cap]],
    )  # fmt: skip


def explain_view(a: Assessment, *, events_per_line: int) -> ExplainView:
    """``events_per_line`` keeps a village's quarter (thousands of visits) within one page."""
    delta = None if a.lock is None or a.adjusted_total is None else a.adjusted_total - a.lock.score
    return ExplainView(
        period=a.period.id, period_start=a.period.start, period_end=a.period.end,
        subject_kind=a.subject.kind, subject_id=a.subject.id, name=a.subject.name,
        level=a.subject.level, scheme=a.card.scheme_code, scheme_version=a.card.scheme_version,
        scale=a.card.scale, score=float(a.lock.score if a.lock else a.card.total),
        locked=a.lock is not None, lock=_lock(a),
        lines=[_line(line, events_per_line) for line in a.card.lines],
        adjustments=[_ref(f) for f in a.adjustments], adjusted_score=_num(a.adjusted_total),
        adjustment_delta=_num(delta),
    )  # fmt: skip


class RankingEntry(msgspec.Struct, kw_only=True):
    rank: int
    subject_kind: Literal["unit", "member"]
    subject_id: UUID
    name: str
    score: float
    signed_off: bool
    post_lock_delta: float | None
    scheme_version: int


class RankingView(msgspec.Struct, kw_only=True):
    period: str
    scheme: str
    level: Literal["village", "grid", "member"]
    items: list[RankingEntry]


def ranking_view(period: str, scheme: str, level: Any, ranked: list[RankedSubject]) -> RankingView:
    items = []
    for r in ranked:
        a = r.assessment
        delta = None if a.lock is None or a.adjusted_total is None else a.adjusted_total - r.score
        entry = RankingEntry(
            rank=r.rank, subject_kind=a.subject.kind, subject_id=a.subject.id,
            name=a.subject.name, score=float(r.score), signed_off=a.lock is not None,
            post_lock_delta=_num(delta), scheme_version=a.card.scheme_version,
        )  # fmt: skip
        items.append(entry)
    return RankingView(period=period, scheme=scheme, level=level, items=items)


class FrozenScoreView(msgspec.Struct, kw_only=True):
    staff_id: UUID
    score: float


class SignOffView(msgspec.Struct, kw_only=True):
    period: str
    unit_id: UUID
    unit_level: int
    scheme: str
    scheme_version: int
    score: float
    through_position: int
    fact_count: int
    facts_digest: str
    member_scores: list[FrozenScoreView]
    signed_by: UUID | None
    signed_role: str
    signed_at: datetime


def signoff_view(row: Any) -> SignOffView:
    members = [
        FrozenScoreView(staff_id=UUID(m["staff_id"]), score=float(m["score"]))
        for m in json.loads(row["member_scores"])
    ]
    return SignOffView(
        period=row["period_id"], unit_id=row["unit_id"], unit_level=row["unit_level"],
        scheme=row["scheme_code"], scheme_version=row["scheme_version"],
        score=float(row["score"]), through_position=row["through_position"],
        fact_count=row["fact_count"], facts_digest=row["facts_digest"], member_scores=members,
        signed_by=row["signed_by"], signed_role=row["signed_role"], signed_at=row["signed_at"],
    )  # fmt: skip
