"""Scoring from totals equals scoring the facts: for any facts, tallied the way the per-period
totals store them (sums per group of facts, net visits per group and household, then summed
over a subject's groups), every line and the total of the card are those of ``score()``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import pairwise
from uuid import UUID

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from events.assessment import INDICATORS, PENALTY_INDICATORS, IndicatorSpec, SchemeVersion
from events.assessment_scoring import MEASURES, Fact, ScoreCard, Tally, score, score_tally

MEASURE_NAMES = sorted({m for names in MEASURES.values() for m in names})
HOUSEHOLDS = [None, *(UUID(int=i) for i in range(1, 6))]
WHEN = datetime(2026, 7, 1, tzinfo=UTC)


@st.composite
def facts(draw: st.DrawFn) -> list[Fact]:
    rows = draw(st.lists(st.tuples(st.sampled_from(MEASURE_NAMES), st.integers(-3, 40),
                                   st.sampled_from(HOUSEHOLDS)), max_size=40))  # fmt: skip
    return [
        Fact(
            position=i + 1,
            aggregate_id=UUID(int=i + 100),
            aggregate_version=1,
            event_type="E",
            measure=m,
            value=v,
            ref_id=ref,
            occurred_at=WHEN,
        )
        for i, (m, v, ref) in enumerate(rows)
    ]


@st.composite
def specs(draw: st.DrawFn, indicator: str) -> IndicatorSpec:
    if indicator in PENALTY_INDICATORS:
        return IndicatorSpec(indicator=indicator, per_occurrence=draw(st.integers(1, 9)),  # type: ignore[arg-type]
                             cap=draw(st.integers(0, 40)))  # fmt: skip
    zero = draw(st.integers(0, 20))
    return IndicatorSpec(indicator=indicator, weight=draw(st.integers(1, 60)),  # type: ignore[arg-type]
                         full_at=zero + draw(st.integers(0, 30)), zero_below=zero)  # fmt: skip


@st.composite
def versions(draw: st.DrawFn) -> SchemeVersion:
    indicators = tuple(draw(specs(i)) for i in INDICATORS)
    return SchemeVersion(code="t", scheme_version=1, period_kind="quarter", label="t",
                         indicators=indicators, effective_from=date(2026, 1, 1))  # fmt: skip


def stored_tally(groups: list[list[Fact]]) -> Tally:
    """What read_tallies computes: group rows (sum, count) and per-household net visits per
    group, summed over the groups; a household counts when its summed net is positive."""
    sums: dict[str, int] = {}
    nets: dict[UUID | None, int] = {}
    count = 0
    for group in groups:
        for measure in {f.measure for f in group}:
            sums[measure] = sums.get(measure, 0) + sum(
                f.value for f in group if f.measure == measure
            )
        for ref in {f.ref_id for f in group if f.measure == "visit"}:
            net = sum(f.value for f in group if f.measure == "visit" and f.ref_id == ref)
            nets[ref] = nets.get(ref, 0) + net
        count += len(group)
    visited = sum(1 for net in nets.values() if net > 0)
    return Tally(sums=sums, households_visited=visited, fact_count=count)


def without_facts(card: ScoreCard) -> ScoreCard:
    lines = tuple(msgspec.structs.replace(line, facts=()) for line in card.lines)
    return msgspec.structs.replace(card, lines=lines)


@settings(max_examples=300, deadline=None)
@given(facts(), versions(), st.integers(1, 6), st.data())
def test_a_card_from_stored_totals_equals_the_card_from_the_facts(
    given_facts: list[Fact], version: SchemeVersion, scale: int, data: st.DataObject
) -> None:
    # given the facts split into groups as the totals key them (any split)
    cuts = data.draw(st.lists(st.integers(0, len(given_facts)), max_size=4).map(sorted))
    bounds = [0, *cuts, len(given_facts)]
    groups = [given_facts[a:b] for a, b in pairwise(bounds)]
    # when scored from the summed totals and from the facts
    from_totals = score_tally(version, stored_tally(groups), scale=scale, through_position=7)
    from_facts = score(version, given_facts, scale=scale, through_position=7)
    # then the cards are equal but for the facts listed on each line
    assert from_totals == without_facts(from_facts)


def test_a_household_visited_then_voided_elsewhere_counts_once_or_not_at_all() -> None:
    # given a household visited in one grid and its visit voided in a group of its own
    home = UUID(int=1)
    visit = Fact(position=1, aggregate_id=UUID(int=9), aggregate_version=1, event_type="Recorded",
                 measure="visit", value=1, ref_id=home, occurred_at=WHEN)  # fmt: skip
    void = msgspec.structs.replace(visit, position=2, aggregate_version=2, value=-1)
    # then the tally of the two groups has no household left visited, as the facts have
    assert stored_tally([[visit], [void]]).households_visited == 0
    version = SchemeVersion(code="t", scheme_version=1, period_kind="quarter", label="t",
                            indicators=(IndicatorSpec(indicator="households_visited", weight=10,
                                                      full_at=1),),
                            effective_from=date(2026, 1, 1))  # fmt: skip
    card = score(version, [visit, void], scale=1, through_position=2)
    assert card.total == score_tally(version, stored_tally([[visit], [void]]), scale=1,
                                     through_position=2).total == 0  # fmt: skip
