"""Scoring a subject for a period from its facts, line by line, so every mark is explained.

A *fact* is one event's contribution to one raw measure (``visit``, ``case_closed`` …), as
folded by :mod:`projections.assessment_facts`. A scheme indicator reads one or two measures:

=========================  ==========================================================
indicator                  value
=========================  ==========================================================
visits                     visits recorded (a voided visit counts -1)
households_visited         distinct households with at least one visit left standing
cases_reported             cases reported
cases_closed_on_time_rate  100 × closed without an SLA breach / closed (no closed case:
                           not applicable, full marks — nobody was late)
mediations_succeeded       mediations concluded with an agreement
points_earned              points credited to the member's account, less revocations
overdue_cases              SLA breaches (penalty)
points_deducted            points deducted from the member's account (penalty)
=========================  ==========================================================

``scale`` is how many grids the subject stands for: a village is scored as one large grid, so
its count targets and penalty caps are multiplied by its number of grids (rates are not).
Each line is rounded to 0.01 half-up and the total is the sum of the rounded lines (never
below 0), so the lines of an explanation always add up to the score shown.

Every indicator reads a :class:`Tally` — per-measure sums and the households left visited —
never the facts themselves: :func:`score` tallies the facts it explains, and a ranking scores
tallies summed by the database (:func:`score_tally`), so its cost does not grow with the facts.
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Final, Literal
from uuid import UUID

import msgspec

from events.assessment import PENALTY_INDICATORS, RATE_INDICATORS, IndicatorSpec, SchemeVersion

__all__ = ["MEASURES", "Fact", "ScoreCard", "ScoreLine", "Tally", "score", "score_tally", "tally"]

MEASURES: Final[dict[str, tuple[str, ...]]] = {
    "visits": ("visit",),
    "households_visited": ("visit",),
    "cases_reported": ("case_reported",),
    "cases_closed_on_time_rate": ("case_closed", "case_closed_on_time"),
    "mediations_succeeded": ("mediation_succeeded",),
    "points_earned": ("points_earned",),
    "overdue_cases": ("case_overdue",),
    "points_deducted": ("points_deducted",),
}
_CENT: Final = Decimal("0.01")


class Fact(msgspec.Struct, frozen=True, kw_only=True):
    """One event's contribution to one measure."""

    position: int
    aggregate_id: UUID
    aggregate_version: int
    event_type: str
    measure: str
    value: int
    ref_id: UUID | None
    occurred_at: datetime


class ScoreLine(msgspec.Struct, frozen=True, kw_only=True):
    indicator: str
    kind: Literal["scored", "penalty"]
    value: Decimal | None
    weight: int
    full_at: int
    zero_below: int
    per_occurrence: int
    cap: int
    points: Decimal
    note: str
    facts: tuple[Fact, ...]


class ScoreCard(msgspec.Struct, frozen=True, kw_only=True):
    scheme_code: str
    scheme_version: int
    scale: int
    total: Decimal
    lines: tuple[ScoreLine, ...]
    fact_count: int
    through_position: int


def _cents(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(_CENT, ROUND_HALF_UP)


class Tally(msgspec.Struct, frozen=True, kw_only=True):
    """What the indicators read of a subject's facts: the sum of values per measure, and how
    many households (``ref_id`` of visit facts, ``None`` counting as one) have a positive net
    visit count. Sums of the same facts in any order or grouping give the same tally."""

    sums: dict[str, int]
    households_visited: int
    fact_count: int


def tally(facts: Sequence[Fact]) -> Tally:
    sums: dict[str, int] = {}
    per_household: dict[UUID | None, int] = {}
    for f in facts:
        sums[f.measure] = sums.get(f.measure, 0) + f.value
        if f.measure == "visit":
            per_household[f.ref_id] = per_household.get(f.ref_id, 0) + f.value
    visited = sum(1 for v in per_household.values() if v > 0)
    return Tally(sums=sums, households_visited=visited, fact_count=len(facts))


def _value(indicator: str, counts: Tally) -> Fraction | None:
    if indicator == "households_visited":
        return Fraction(counts.households_visited)
    if indicator == "cases_closed_on_time_rate":
        closed = counts.sums.get("case_closed", 0)
        on_time = counts.sums.get("case_closed_on_time", 0)
        return None if closed <= 0 else Fraction(100 * on_time, closed)
    return Fraction(sum(counts.sums.get(m, 0) for m in MEASURES[indicator]))


def _scored(
    spec: IndicatorSpec, value: Fraction | None, scale: int
) -> tuple[Fraction, str, int, int]:
    factor = 1 if spec.indicator in RATE_INDICATORS else scale
    full, zero = spec.full_at * factor, spec.zero_below * factor
    if value is None:
        return Fraction(spec.weight), "not applicable: full marks", full, zero
    if value >= full:
        return Fraction(spec.weight), f"at or above {full}: full marks", full, zero
    if value < zero or full == zero:
        return Fraction(0), f"below {zero}: no marks", full, zero
    share = (value - zero) / (full - zero)
    return spec.weight * share, f"between {zero} and {full}: pro rata", full, zero


def _line(spec: IndicatorSpec, counts: Tally, scale: int, facts: Sequence[Fact]) -> ScoreLine:
    value = _value(spec.indicator, counts)
    if spec.indicator in PENALTY_INDICATORS:
        count = value if value is not None and value > 0 else Fraction(0)
        cap = spec.cap * scale
        deduction = min(Fraction(cap), count * spec.per_occurrence)
        note = f"{spec.per_occurrence} per occurrence, at most {cap}"
        points, kind, full, zero = -deduction, "penalty", 0, 0
    else:
        points, note, full, zero = _scored(spec, value, scale)
        kind, cap = "scored", 0
    return ScoreLine(
        indicator=spec.indicator,
        kind=kind,  # type: ignore[arg-type]  # one of the two literals above
        value=None if value is None else _cents(value),
        weight=spec.weight,
        full_at=full,
        zero_below=zero,
        per_occurrence=spec.per_occurrence,
        cap=cap,
        points=_cents(points),
        note=note,
        facts=tuple(facts),
    )


def score(
    version: SchemeVersion, facts: Sequence[Fact], *, scale: int, through_position: int
) -> ScoreCard:
    """Score ``facts`` (already filtered to one subject and period) under ``version``; each
    line lists the facts it read."""
    counts = tally(facts)
    per_line = [
        [f for f in facts if f.measure in MEASURES[s.indicator]] for s in version.indicators
    ]
    return _card(version, counts, per_line, scale=scale, through_position=through_position)


def score_tally(
    version: SchemeVersion, counts: Tally, *, scale: int, through_position: int
) -> ScoreCard:
    """The same card as :func:`score` over the facts ``counts`` tallies, without the facts."""
    per_line: list[list[Fact]] = [[] for _ in version.indicators]
    return _card(version, counts, per_line, scale=scale, through_position=through_position)


def _card(
    version: SchemeVersion,
    counts: Tally,
    per_line: Sequence[Sequence[Fact]],
    *,
    scale: int,
    through_position: int,
) -> ScoreCard:
    scale = max(1, scale)
    lines = tuple(
        _line(spec, counts, scale, facts)
        for spec, facts in zip(version.indicators, per_line, strict=True)
    )
    total = max(Decimal("0.00"), sum((line.points for line in lines), Decimal("0.00")))
    return ScoreCard(
        scheme_code=version.code,
        scheme_version=version.scheme_version,
        scale=scale,
        total=total,
        lines=lines,
        fact_count=counts.fact_count,
        through_position=through_position,
    )
