"""Stories of assessments: periods, versioned schemes, scoring line by line, sign-off order."""

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from events.assessment import AssessmentScheme, IndicatorSpec
from events.assessment_errors import InvalidPeriod, InvalidScheme, SignOffOutOfOrder
from events.assessment_period import parse_period
from events.assessment_scoring import Fact, score
from events.assessment_signoff import AssessmentSignOff, SignedUnit
from events.errors import InvalidTransition
from storage.mapper import decode_event, encode_event_state
from tests.unit.events.conftest import ADMIN, meta

D1, D2 = date(2026, 1, 1), date(2026, 7, 1)
SPECS = (
    IndicatorSpec(indicator="visits", weight=40, full_at=20, zero_below=10),
    IndicatorSpec(indicator="cases_reported", weight=30, full_at=4, zero_below=0),
    IndicatorSpec(indicator="cases_closed_on_time_rate", weight=30, full_at=90, zero_below=50),
    IndicatorSpec(indicator="overdue_cases", per_occurrence=2, cap=6),
)


def scheme(specs: tuple[IndicatorSpec, ...] = SPECS) -> AssessmentScheme:
    return AssessmentScheme.define(
        code="township", period_kind="quarter", label="镇考核办法", indicators=specs,
        effective_from=D1, meta=meta(role="admin", actor=ADMIN),
    )  # fmt: skip


def fact(measure: str, value: int = 1, *, ref: UUID | None = None, position: int = 1) -> Fact:
    return Fact(
        position=position, aggregate_id=uuid4(), aggregate_version=1, event_type="Recorded",
        measure=measure, value=value, ref_id=ref, occurred_at=datetime(2026, 2, 1, tzinfo=UTC),
    )  # fmt: skip


# -- periods ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period_id", "start", "end"),
    [
        ("2026-Q3", date(2026, 7, 1), date(2026, 10, 1)),
        ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026-07", date(2026, 7, 1), date(2026, 8, 1)),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1)),
        ("2026-W27-28", date(2026, 6, 29), date(2026, 7, 13)),
        ("2020-W53-53", date(2020, 12, 28), date(2021, 1, 4)),
    ],
)
def test_periods_name_their_days(period_id: str, start: date, end: date) -> None:
    period = parse_period(period_id)
    assert (period.start, period.end) == (start, end)
    assert period.contains(start)
    assert not period.contains(end)


@pytest.mark.parametrize(
    "period_id",
    ["2026-Q5", "2026-13", "2026-00", "2026-W28-29", "2026-W27-29", "2025-W53-53", "1999-Q1",
     "2026-W27/28", "Q3-2026", "", "2026-q3"],
)  # fmt: skip
def test_invalid_periods_are_refused_with_their_errcode(period_id: str) -> None:
    with pytest.raises(InvalidPeriod) as raised:
        parse_period(period_id)
    assert raised.value.errcode == 40075


# -- schemes ---------------------------------------------------------------------------------


def test_scheme_versions_apply_from_their_effective_date() -> None:
    # given a scheme from January, when it is revised from July
    s = scheme()
    heavier = (IndicatorSpec(indicator="visits", weight=100, full_at=30, zero_below=0),)
    assert s.revise(label="新办法", indicators=heavier, effective_from=D2, meta=meta()) == 2
    # then Q2 is scored with version 1 and Q3 with version 2
    assert s.version_on(parse_period("2026-Q2").start).scheme_version == 1  # type: ignore[union-attr]
    assert s.version_on(parse_period("2026-Q3").start).scheme_version == 2  # type: ignore[union-attr]
    assert s.version_on(date(2025, 12, 31)) is None


def test_retired_scheme_applies_to_no_later_period_and_accepts_no_change() -> None:
    s = scheme()
    s.retire(D2, "废止", meta=meta())
    assert s.version_on(D2) is None
    with pytest.raises(InvalidTransition):
        s.revise(label="x", indicators=SPECS, effective_from=D2, meta=meta())


@pytest.mark.parametrize(
    "specs",
    [
        (IndicatorSpec(indicator="visits", weight=90, full_at=10),),  # weights add to 90
        (IndicatorSpec(indicator="visits", weight=100, full_at=10, zero_below=20),),
        (IndicatorSpec(indicator="visits", weight=100, full_at=0),),
        (IndicatorSpec(indicator="cases_closed_on_time_rate", weight=100, full_at=120),),
        (
            IndicatorSpec(indicator="visits", weight=50, full_at=10),
            IndicatorSpec(indicator="visits", weight=50, full_at=10),
        ),
        (
            IndicatorSpec(indicator="visits", weight=100, full_at=10),
            IndicatorSpec(indicator="overdue_cases", per_occurrence=5, cap=2),
        ),
        (
            IndicatorSpec(indicator="visits", weight=100, full_at=10),
            IndicatorSpec(indicator="overdue_cases", weight=5, per_occurrence=1, cap=2),
        ),
        (IndicatorSpec(indicator="visits", weight=100, full_at=10, cap=3),),
    ],
)
def test_broken_schemes_are_refused(specs: tuple[IndicatorSpec, ...]) -> None:
    with pytest.raises(InvalidScheme) as raised:
        scheme(specs)
    assert raised.value.errcode == 40076


def test_scheme_events_survive_the_store_mapper() -> None:
    s = scheme()
    s.revise(label="新", indicators=(*SPECS[:3], SPECS[3]), effective_from=D2, meta=meta())
    for event in s.collect_events():
        state = encode_event_state(event)
        back = decode_event(
            f"{type(event).__module__}:{type(event).__qualname__}", state,
            originator_id=event.originator_id, originator_version=event.originator_version,
        )  # fmt: skip
        assert vars(back) == vars(event)


# -- scoring ---------------------------------------------------------------------------------


def test_a_score_is_the_sum_of_its_explained_lines() -> None:
    # given 15 visits (half way to full marks), 4 reports, 3 of 4 closings on time, 1 breach
    facts = [fact("visit", position=i) for i in range(15)]
    facts += [fact("case_reported") for _ in range(4)]
    facts += [fact("case_closed") for _ in range(4)] + [fact("case_closed_on_time")] * 3
    facts += [fact("case_overdue")]
    # when scored
    card = score(scheme().current, facts, scale=1, through_position=99)
    points = {line.indicator: line.points for line in card.lines}
    # then visits give 20 of 40, reports 30, the rate 75% gives 30 × 25/40, the breach costs 2
    assert points == {
        "visits": Decimal("20.00"),
        "cases_reported": Decimal("30.00"),
        "cases_closed_on_time_rate": Decimal("18.75"),
        "overdue_cases": Decimal("-2.00"),
    }
    assert card.total == Decimal("66.75") == sum(points.values())
    assert len(card.lines[0].facts) == 15


def test_a_village_is_scored_as_one_large_grid() -> None:
    # given 30 visits in a village of 2 grids: the full-marks target doubles to 40
    card = score(scheme().current, [fact("visit")] * 30, scale=2, through_position=1)
    visits = card.lines[0]
    assert (visits.full_at, visits.zero_below, visits.points) == (40, 20, Decimal("20.00"))
    assert card.lines[3].cap == 12


def test_penalties_are_capped_and_the_score_never_goes_below_zero() -> None:
    card = score(scheme().current, [fact("case_overdue")] * 10, scale=1, through_position=1)
    penalty = card.lines[3]
    assert penalty.points == Decimal("-6.00")
    # no closed case: the rate is not applicable and gives full marks (nobody was late)
    assert card.lines[2].value is None
    assert card.lines[2].points == Decimal("30.00")
    assert card.total == Decimal("24.00")
    harsh = (
        IndicatorSpec(indicator="visits", weight=100, full_at=5),
        IndicatorSpec(indicator="overdue_cases", per_occurrence=10, cap=100),
    )
    assert score(scheme(harsh).current, [fact("case_overdue")] * 3, scale=1,
                 through_position=1).total == Decimal("0.00")  # fmt: skip


def test_households_visited_counts_distinct_households_left_standing() -> None:
    a, b = uuid4(), uuid4()
    specs = (IndicatorSpec(indicator="households_visited", weight=100, full_at=4),)
    facts = [fact("visit", ref=a), fact("visit", ref=a), fact("visit", ref=b),
             fact("visit", -1, ref=b)]  # fmt: skip
    line = score(scheme(specs).current, facts, scale=1, through_position=1).lines[0]
    assert line.value == Decimal("1.00")
    assert line.points == Decimal("25.00")


# -- sign-off --------------------------------------------------------------------------------


def sign(children: list[SignedUnit], *, today: date = date(2026, 11, 25)) -> AssessmentSignOff:
    return AssessmentSignOff.sign(
        period=parse_period("2026-Q3"), unit_id=UUID(int=7), unit_level=2, children=children,
        today=today, scheme_code="township", scheme_version=1, score="87.50",
        through_position=42, fact_count=3, facts_digest="0" * 64, member_scores=(),
        meta=meta(role="supervisor"),
    )  # fmt: skip


def test_a_village_is_signed_only_after_all_its_grids() -> None:
    # given one of two grids signed, when the village is signed, then it is out of order
    grids = [SignedUnit(unit_id=UUID(int=1), signed=True), SignedUnit(unit_id=UUID(int=2),
                                                                      signed=False)]  # fmt: skip
    with pytest.raises(SignOffOutOfOrder) as raised:
        sign(grids)
    assert raised.value.errcode == 40975
    assert raised.value.details["unsigned"] == [str(UUID(int=2))]
    # when both are signed, then the village signs and the id is one per period and unit
    done = sign([SignedUnit(unit_id=g.unit_id, signed=True) for g in grids])
    assert done.id == AssessmentSignOff.id_for("2026-Q3", UUID(int=7))
    assert (done.score, done.through_position) == ("87.50", 42)


def test_a_period_that_has_not_started_cannot_be_signed() -> None:
    with pytest.raises(SignOffOutOfOrder):
        sign([], today=date(2026, 6, 30))
