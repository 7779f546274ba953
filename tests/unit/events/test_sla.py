"""SLA rules, deadlines, colours and the scheduler's due events (server time only)."""

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from events import (
    CHINA_TZ,
    DEFAULT_POLICY,
    SYSTEM_META,
    InvalidValue,
    Pause,
    SlaClock,
    SlaPolicy,
    SlaRule,
    YearOverride,
    china_calendar,
    clock_deadline,
    colour,
    deadline,
    due_events,
    paused_time,
)
from events.sla import deadline_provisional, sla_horizon
from tests.unit.events.test_case import SUP, Clock, case_in

CAL = china_calendar()
FOUR_HOURS = SlaRule(level=3, stage="acceptance", limit_hours=4)
ONE_DAY = SlaRule(level=3, stage="dispatch", limit_days=1)
ZERO = timedelta(0)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=CHINA_TZ)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock().install(monkeypatch)


@pytest.mark.parametrize(
    "fields",
    [
        {"limit_hours": 4, "limit_days": 1},
        {},
        {"limit_hours": 0},
        {"limit_days": -1},
        {"limit_hours": 4, "yellow_at": 1.0},
        {"limit_hours": 4, "yellow_at": 0},
        {"limit_hours": 4, "level": 5},
        {"limit_hours": 4, "stage": "lunch"},
        {"limit_hours": 4, "category": " "},
    ],
)
def test_a_bad_rule_is_refused(fields: dict[str, Any]) -> None:
    base: dict[str, Any] = {"level": 3, "stage": "handling"}
    with pytest.raises(InvalidValue):
        SlaRule(**(base | fields))


def test_policy_lookup_prefers_the_category_then_falls_back() -> None:
    own = SlaRule(level=3, stage="handling", category="safety", limit_hours=8)
    policy = SlaPolicy(rules=(*DEFAULT_POLICY.rules, own))
    assert policy.rule_for(3, "safety", "handling") == own
    assert policy.rule_for(3, "environment", "handling") == SlaRule(
        level=3, stage="handling", limit_days=3
    )
    assert SlaPolicy(rules=(own,)).rule_for(3, "environment", "handling") is None
    with pytest.raises(InvalidValue):
        SlaPolicy(rules=(own, own))


def test_the_default_policy() -> None:
    handling = [DEFAULT_POLICY.rule_for(level, None, "handling") for level in (1, 2, 3, 4)]
    assert [r.limit_days for r in handling if r] == [10, 5, 3, 3]
    assert DEFAULT_POLICY.rule_for(2, "x", "acceptance") == SlaRule(
        level=2, stage="acceptance", limit_hours=4
    )
    assert len(DEFAULT_POLICY.rules) == 24


def test_deadlines_with_pauses_and_extensions() -> None:
    entered = at(2026, 3, 2, 9)  # Monday
    assert deadline(FOUR_HOURS, entered, ZERO, 0, CAL) == at(2026, 3, 2, 14, 30)
    assert deadline(FOUR_HOURS, entered, timedelta(hours=2), 0, CAL) == at(2026, 3, 2, 16, 30)
    assert deadline(FOUR_HOURS, entered, ZERO, 1, CAL) == at(2026, 3, 3, 14, 30)  # + 7.5 h
    assert deadline(ONE_DAY, entered, ZERO, 0, CAL) == at(2026, 3, 3, 17, 30)
    assert deadline(ONE_DAY, entered, ZERO, 2, CAL) == at(2026, 3, 5, 17, 30)
    assert deadline(ONE_DAY, entered, timedelta(hours=2), 0, CAL) == at(2026, 3, 4, 10, 30)


def test_a_handling_deadline_across_national_day_and_make_up_days() -> None:
    three_days = DEFAULT_POLICY.rule_for(3, None, "handling")
    assert three_days is not None
    assert deadline(three_days, at(2026, 9, 30, 10), ZERO, 0, CAL) == at(2026, 10, 10, 17, 30)
    # Friday 18th, Sunday 20th (make-up), Monday 21st
    assert deadline(three_days, at(2026, 9, 17, 10), ZERO, 0, CAL) == at(2026, 9, 21, 17, 30)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(2026, 3, 2, 11, 29, 59), "green"),
        (at(2026, 3, 2, 11, 30), "yellow"),  # 3 of 4 working hours
        (at(2026, 3, 2, 13, 59, 59), "yellow"),
        (at(2026, 3, 2, 14), "red"),  # 3.5 h + 0.5 h after lunch
        (at(2026, 3, 5, 9), "red"),
    ],
)
def test_colours_at_the_hour_boundaries(now: datetime, expected: str) -> None:
    assert colour(now, FOUR_HOURS, at(2026, 3, 2, 8, 30), ZERO, 0, CAL) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(2026, 3, 3, 13, 44), "green"),
        (at(2026, 3, 3, 13, 45), "yellow"),  # 11.25 of 15 working hours
        (at(2026, 3, 3, 17, 29), "yellow"),
        (at(2026, 3, 3, 17, 30), "red"),
    ],
)
def test_colours_at_the_day_boundaries(now: datetime, expected: str) -> None:
    assert colour(now, ONE_DAY, at(2026, 3, 2, 8, 30), ZERO, 0, CAL) == expected


def test_a_pause_counts_its_working_time_only() -> None:
    pauses = (Pause(start=at(2026, 3, 2, 10), end=at(2026, 3, 3, 10)),)
    assert paused_time(pauses, at(2026, 3, 9), CAL) == timedelta(hours=7.5)
    still = (Pause(start=at(2026, 3, 2, 10)),)
    assert paused_time(still, at(2026, 3, 2, 11), CAL) == timedelta(hours=1)


def clock_at(entered: datetime, **fields: Any) -> SlaClock:
    values: dict[str, Any] = {
        "case_id": UUID(int=1), "level": 3, "category": "environment", "stage": "acceptance",
        "stage_seq": 1, "stage_entered_at": entered,
    }  # fmt: skip
    return SlaClock(**(values | fields))


def test_due_events_report_the_most_severe_threshold_not_yet_recorded() -> None:
    entered = at(2026, 3, 2, 8, 30)
    due = [
        due_events(clock_at(entered, emitted=emitted), now, DEFAULT_POLICY, CAL)
        for emitted, now in [
            ((), at(2026, 3, 2, 11)),
            ((), at(2026, 3, 2, 11, 30)),
            (("yellow",), at(2026, 3, 2, 11, 30)),
            (("yellow",), at(2026, 3, 2, 14)),
            ((), at(2026, 3, 2, 14)),  # first look when already red: no late yellow
            (("red",), at(2026, 3, 3, 9)),
        ]
    ]
    assert due == [[], [("acceptance", "yellow")], [], [("acceptance", "red")],
                   [("acceptance", "red")], []]  # fmt: skip


def test_nothing_is_due_while_suspended_or_without_a_stage_or_rule() -> None:
    entered, late = at(2026, 3, 2, 8, 30), at(2026, 3, 9, 9)
    suspended = clock_at(entered, pauses=(Pause(start=at(2026, 3, 2, 9)),))
    assert suspended.suspended
    assert due_events(suspended, late, DEFAULT_POLICY, CAL) == []
    assert due_events(clock_at(entered, stage=None), late, DEFAULT_POLICY, CAL) == []
    assert due_events(clock_at(entered), late, SlaPolicy(rules=()), CAL) == []
    assert clock_deadline(clock_at(entered, stage=None), late, DEFAULT_POLICY, CAL) is None


def test_the_clock_of_a_real_case_through_suspension_and_stage_re_entry(clock: Clock) -> None:
    # given a case registered on Monday 08:30: the dispatch stage allows one working day
    case = case_in("registered")
    snapshot = case.sla_clock()
    assert (snapshot.stage, snapshot.stage_entered_at) == ("dispatch", at(2026, 3, 2, 8, 30))
    assert clock_deadline(snapshot, clock.now, DEFAULT_POLICY, CAL) == at(2026, 3, 3, 17, 30)
    # when it is suspended from Monday 10:00 to Tuesday 10:00 (7.5 working hours)
    clock.set(2026, 3, 2, 10)
    case.suspend("等待鉴定", meta=SUP)
    assert due_events(case.sla_clock(), at(2026, 3, 9), DEFAULT_POLICY, CAL) == []
    clock.set(2026, 3, 3, 10)
    case.resume(meta=SUP)
    # then the deadline moved by a working day, and yellow comes that much later
    snapshot = case.sla_clock()
    assert clock_deadline(snapshot, clock.now, DEFAULT_POLICY, CAL) == at(2026, 3, 4, 17, 30)
    assert due_events(snapshot, at(2026, 3, 4, 13, 44), DEFAULT_POLICY, CAL) == []
    due = due_events(snapshot, at(2026, 3, 4, 13, 45), DEFAULT_POLICY, CAL)
    assert due == [("dispatch", "yellow")]
    # and once recorded it is not due again for this stage entry
    assert case.warn_sla("dispatch", snapshot.stage_seq, meta=SYSTEM_META)
    assert due_events(case.sla_clock(), at(2026, 3, 4, 14), DEFAULT_POLICY, CAL) == []
    # but re-entering the stage (dispatch, then return) starts a fresh clock with fresh warnings
    clock.set(2026, 3, 4, 14)
    case.dispatch(staff_id=UUID(int=20), meta=SUP)
    case.return_("退回", meta=SUP)
    fresh = case.sla_clock()
    assert (fresh.stage, fresh.stage_seq, fresh.emitted) == ("dispatch", snapshot.stage_seq + 2, ())
    assert due_events(fresh, at(2026, 3, 5, 14, 45), DEFAULT_POLICY, CAL) == [
        ("dispatch", "yellow")
    ]


# -- provisional deadlines and the SLA horizon ---------------------------------------------

HANDLING_3_DAYS = SlaRule(level=3, stage="handling", limit_days=3)


def test_given_no_2027_data_when_a_deadline_runs_into_2027_then_it_is_provisional() -> None:
    # given a 3-day stage entered on the last Wednesday of 2026
    entered = at(2026, 12, 30, 10)
    # when its deadline is counted without 2027 data
    due = deadline(HANDLING_3_DAYS, entered, ZERO, 0, CAL)
    # then 1 January 2027 (a Friday) counted as a working day, and the deadline says so
    assert due == at(2027, 1, 4, 17, 30)
    assert deadline_provisional(CAL, entered, due)


def test_given_the_year_entered_then_the_same_deadline_is_firm() -> None:
    new_year = YearOverride(holidays=frozenset({date(2027, 1, 1)}))
    cal = china_calendar({2027: new_year})
    entered = at(2026, 12, 30, 10)
    due = deadline(HANDLING_3_DAYS, entered, ZERO, 0, cal)
    assert due == at(2027, 1, 5, 17, 30)
    assert not deadline_provisional(cal, entered, due)


def test_a_deadline_inside_a_covered_year_is_firm() -> None:
    entered = at(2026, 6, 1, 9)
    assert not deadline_provisional(CAL, entered, deadline(HANDLING_3_DAYS, entered, ZERO, 0, CAL))


def test_the_sla_horizon_is_the_longest_limit_plus_one_maximal_delay() -> None:
    # given the default policy (longest: 10 working days at town level) and a 30-day delay
    # then a stage entered in early December may end in the next year, one in September not
    december = sla_horizon(at(2026, 12, 7, 9), DEFAULT_POLICY, CAL, delay_days=30)
    september = sla_horizon(at(2026, 9, 1, 9), DEFAULT_POLICY, CAL, delay_days=30)
    assert december == CAL.add_working_days(at(2026, 12, 7, 9), 40)
    assert december.year == 2027
    assert september.year == 2026
    # and an hour rule counts as whole working days (16 h -> 3 days)
    hours_only = SlaPolicy(rules=(SlaRule(level=3, stage="acceptance", limit_hours=16),))
    start = at(2026, 6, 1, 9)
    assert sla_horizon(start, hours_only, CAL, delay_days=0) == CAL.add_working_days(start, 3)
