"""The totals are keyed by the quarter, month and bi-week of a fact's business day (Beijing by
default): those ids name exactly the periods that contain the day, so a period's totals hold
exactly its facts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.assessment_period import parse_period
from events.business_date import business_day
from projections.assessment_totals import period_ids, periods_sql


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


ZONES = ("Asia/Shanghai", "Asia/Urumqi", "America/New_York")


@pytest.mark.parametrize("zone", [ZoneInfo(z) for z in ZONES], ids=ZONES)
@given(st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2098, 1, 1),
                    timezones=st.just(UTC)))  # fmt: skip
def test_a_moment_counts_for_the_business_day_the_periods_start_at(
    zone: ZoneInfo, moment: datetime
) -> None:
    # when a fact happened at ``moment``, the month of its business day starts at or before it
    month = parse_period(period_ids(business_day(moment, zone))[1])
    assert month.starts_at(zone) <= moment < month.ends_at(zone)
    assert not month.starts_at(zone) <= moment - timedelta(days=32) < month.ends_at(zone)


def test_the_backfill_cuts_days_in_the_zone_it_is_given() -> None:
    # the SQL that backfills the totals names the projection's zone, never a fixed offset
    assert "AT TIME ZONE 'Asia/Urumqi'" in periods_sql(ZoneInfo("Asia/Urumqi"))
    assert "interval '8 hours'" not in periods_sql(ZoneInfo("Asia/Shanghai"))
