"""Stories of the admin's settings: the SLA rule set and the holiday-calendar overrides."""

from datetime import date, datetime
from typing import Any

import pytest

from events import (
    CHINA_TZ,
    CalendarOverrides,
    InvalidValue,
    SlaRule,
    SlaRuleSet,
    YearOverride,
    china_calendar,
)
from events.reference_settings import CALENDAR_OVERRIDES_ID, SLA_RULES_ID
from storage.mapper import MsgspecMapper
from tests.unit.events.conftest import ADMIN, meta

ADMIN_META = meta(role="admin", actor=ADMIN)
HANDLING = SlaRule(level=3, stage="handling", limit_days=2)
DISPUTE_HANDLING = SlaRule(level=3, stage="handling", category="dispute", limit_days=5)
ACCEPTANCE = SlaRule(level=2, stage="acceptance", limit_hours=2, yellow_at=0.5, red_at=0.9)


def rule_set() -> SlaRuleSet:
    rules = SlaRuleSet.open(meta=ADMIN_META)
    rules.collect_events()
    return rules


def overrides() -> CalendarOverrides:
    calendar = CalendarOverrides.open(meta=ADMIN_META)
    calendar.collect_events()
    return calendar


def replay(events: list[Any]) -> Any:
    """Through the real mapper, as the event store would hand them back."""
    mapper = MsgspecMapper()
    restored = None
    for e in events:
        restored = mapper.to_domain_event(mapper.to_stored_event(e)).mutate(restored)
    return restored


def test_the_rule_set_and_the_overrides_are_singletons() -> None:
    assert SlaRuleSet.open(meta=ADMIN_META).id == SLA_RULES_ID
    assert CalendarOverrides.open(meta=ADMIN_META).id == CALENDAR_OVERRIDES_ID
    assert SLA_RULES_ID != CALENDAR_OVERRIDES_ID


def test_a_new_rule_set_has_no_policy_so_the_default_applies() -> None:
    assert rule_set().policy is None


def test_replacing_the_rules_records_them_whole_and_replays() -> None:
    # given the rule set
    rules = SlaRuleSet.open(meta=ADMIN_META)

    # when an admin replaces the rules
    rules.replace_rules([DISPUTE_HANDLING, HANDLING, ACCEPTANCE], meta=ADMIN_META)

    # then the policy answers with the category's own rule and the level's default
    assert rules.policy is not None
    assert rules.policy.rule_for(3, "dispute", "handling") == DISPUTE_HANDLING
    assert rules.policy.rule_for(3, "hazard", "handling") == HANDLING
    # and the events replay to the same state through the mapper
    events = rules.collect_events()
    assert [type(e).__name__ for e in events] == ["Opened", "RulesReplaced"]
    restored = replay(events)
    assert restored.rules == rules.rules
    assert restored.version == 2


def test_the_same_rules_in_another_order_change_nothing() -> None:
    rules = rule_set()
    rules.replace_rules([HANDLING, ACCEPTANCE], meta=ADMIN_META)
    rules.collect_events()

    rules.replace_rules([ACCEPTANCE, HANDLING], meta=ADMIN_META)

    assert rules.collect_events() == []


def test_an_empty_rule_set_goes_back_to_the_default() -> None:
    rules = rule_set()
    rules.replace_rules([HANDLING], meta=ADMIN_META)

    rules.replace_rules([], meta=ADMIN_META)

    assert rules.policy is None
    assert rules.version == 3


@pytest.mark.parametrize(
    "bad",
    [
        [HANDLING, SlaRule(level=3, stage="handling", limit_hours=8)],  # same key twice
        [SlaRule(level=3, stage="handling", limit_days=0)],  # no time at all
    ],
)
def test_bad_rules_are_refused_and_nothing_changes(bad: list[SlaRule]) -> None:
    # given rules already in force
    rules = rule_set()
    rules.replace_rules([HANDLING], meta=ADMIN_META)
    rules.collect_events()

    # when an admin tries to replace them with an invalid set
    with pytest.raises(InvalidValue):
        rules.replace_rules(bad, meta=ADMIN_META)

    # then nothing was recorded and the old rules hold
    assert rules.collect_events() == []
    assert rules.rules == (HANDLING,)


def test_yellow_must_come_before_red() -> None:
    # the rule itself refuses, before any set sees it
    with pytest.raises(InvalidValue):
        SlaRule(level=3, stage="handling", limit_days=2, yellow_at=1.0, red_at=1.0)


def test_an_override_replaces_the_built_in_year() -> None:
    # given the built-in calendar, where 1 Oct 2026 (National Day) is a holiday
    assert not china_calendar().is_working_day(date(2026, 10, 1))
    calendar = CalendarOverrides.open(meta=ADMIN_META)

    # when an admin overrides 2026 with a single holiday and one make-up Saturday
    calendar.set_year(2026, (date(2026, 1, 1),), (date(2026, 1, 10),), meta=ADMIN_META)

    # then only the override counts for 2026
    year = calendar.years[2026]
    applied = china_calendar(calendar.years)
    assert year == YearOverride(
        holidays=frozenset({date(2026, 1, 1)}), makeup_days=frozenset({date(2026, 1, 10)})
    )
    assert applied.is_working_day(date(2026, 10, 1))
    assert not applied.is_working_day(date(2026, 1, 1))
    assert applied.is_working_day(date(2026, 1, 10))
    # and the events replay
    restored = replay(calendar.collect_events())
    assert restored.years == calendar.years


def test_setting_the_same_year_twice_is_a_no_op_and_clearing_restores_built_in() -> None:
    calendar = overrides()
    calendar.set_year(2031, (date(2031, 1, 1),), (), meta=ADMIN_META)
    calendar.set_year(2031, (date(2031, 1, 1),), (), meta=ADMIN_META)
    assert len(calendar.collect_events()) == 1

    calendar.clear_year(2031, meta=ADMIN_META)
    calendar.clear_year(2031, meta=ADMIN_META)  # idempotent

    assert [type(e).__name__ for e in calendar.collect_events()] == ["YearCleared"]
    assert calendar.years == {}


def test_an_empty_override_covers_a_year_as_having_no_holidays() -> None:
    calendar = overrides()
    calendar.set_year(2040, (), (), meta=ADMIN_META)
    applied = china_calendar(calendar.years)
    assert applied.covered(2040)
    assert not china_calendar().covered(2040)


@pytest.mark.parametrize(
    ("year", "holidays", "makeup", "field"),
    [
        (2031, (date(2032, 1, 1),), (), "holidays"),  # outside its year
        (2031, (date(2031, 1, 4),), (date(2031, 1, 4),), None),  # both kinds at once
        (2031, (), (date(2031, 1, 6),), "makeup_days"),  # a Monday is no make-up day
        (1999, (), (), "year"),
    ],
)
def test_a_bad_override_is_refused(
    year: int, holidays: tuple[date, ...], makeup: tuple[date, ...], field: str | None
) -> None:
    calendar = overrides()
    with pytest.raises(InvalidValue) as refused:
        calendar.set_year(year, holidays, makeup, meta=ADMIN_META)
    assert refused.value.details.get("field") == field
    assert calendar.collect_events() == []


def test_deadlines_follow_the_override() -> None:
    # given 2031, which the built-in data does not cover, with an override making 2 Jan a holiday
    calendar = overrides()
    calendar.set_year(2031, (date(2031, 1, 2),), (), meta=ADMIN_META)
    applied = china_calendar(calendar.years)

    # when one working day is added to Wednesday 1 Jan 2031
    due = applied.add_working_days(datetime(2031, 1, 1, 9, tzinfo=CHINA_TZ), 1)

    # then Thursday 2 Jan is skipped: it is due on Friday 3 Jan at 17:30
    assert due == datetime(2031, 1, 3, 17, 30, tzinfo=CHINA_TZ)
