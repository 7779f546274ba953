"""The totals are keyed by the quarter, month and bi-week of a fact's Beijing day: those ids
name exactly the periods that contain the day, so a period's totals hold exactly its facts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from events.assessment_period import parse_period
from projections.assessment_totals import beijing_day, period_ids


@settings(max_examples=400, deadline=None)
@given(st.dates(min_value=date(2000, 1, 3), max_value=date(2099, 12, 27)))
def test_each_id_names_a_period_containing_the_day(day: date) -> None:
    # when the ids of a day are taken
    quarter, month, biweek = period_ids(day)
    # then each parses as its kind of period, and that period holds the day
    for period_id, kind in ((quarter, "quarter"), (month, "month"), (biweek, "biweek")):
        period = parse_period(period_id)
        assert period.kind == kind
        assert period.contains(day), (day, period_id)


def test_the_last_week_of_a_53_week_year_is_its_own_biweek() -> None:
    # given 2026 has 53 ISO weeks and 2027 starts its week 1 on 4 January 2027
    assert period_ids(date(2026, 12, 31))[2] == "2026-W53-53"
    assert period_ids(date(2027, 1, 3))[2] == "2026-W53-53"
    assert period_ids(date(2027, 1, 4))[2] == "2027-W01-02"
    assert period_ids(date(2025, 12, 29))[2] == "2026-W01-02"


@given(st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2098, 1, 1),
                    timezones=st.just(UTC)))  # fmt: skip
def test_a_moment_counts_for_thebeijing_day_the_periods_start_at(moment: datetime) -> None:
    # when a fact happened at ``moment``, the month it counts for starts at or before it
    month = parse_period(period_ids(beijing_day(moment))[1])
    assert month.start_at <= moment < month.end_at
    assert not month.start_at <= moment - timedelta(days=32) < month.end_at
