"""SLA policy, stage deadlines and the pure heart of the case scheduler (DESIGN §4).

A rule limits one stage of a case at one grid level, for one category or as the level's
default (``category=None``). Limits are working hours or working days on a
:class:`~events.holidays.WorkingCalendar`. Time a case spends suspended (挂起) does not count:
the paused *working* time of the stage entry moves every threshold later by as much. An
approved delay (延期) adds working days to the stage (7.5 working hours each for hour rules).

A deadline counted over days of a year the calendar has no holiday data for (Monday–Friday
assumed there) is *provisional*: it moves once that year's arrangement is entered. The *SLA
horizon* is the latest deadline a stage entered now can get (the policy's longest limit plus
one maximal delay); the years up to it are the ones new deadlines depend on.

Only server timestamps enter here (stage entry and pauses come from event timestamps, ``now``
from the scheduler's clock); device clocks never do.
"""

import math
from datetime import datetime, timedelta
from typing import Final, Literal
from uuid import UUID

import msgspec

from events.case_states import CASE_STAGES, Stage, Threshold
from events.errors import InvalidValue
from events.holidays import CHINA_TZ, WORKING_DAY_HOURS, WorkingCalendar

__all__ = [
    "DEFAULT_POLICY",
    "Pause",
    "SlaClock",
    "SlaColour",
    "SlaPolicy",
    "SlaRule",
    "clock_deadline",
    "colour",
    "deadline",
    "deadline_provisional",
    "default_policy",
    "due_events",
    "paused_time",
    "sla_horizon",
    "threshold_at",
]

SlaColour = Literal["green", "yellow", "red"]
_WORKING_DAY: Final = timedelta(hours=WORKING_DAY_HOURS)


class Pause(msgspec.Struct, frozen=True, kw_only=True):
    """One suspension (server times); ``end`` is None while it lasts."""

    start: datetime
    end: datetime | None = None


class SlaClock(msgspec.Struct, frozen=True, kw_only=True):
    """A case's current stage entry as the SLA layer sees it (``Case.sla_clock()``).

    ``emitted`` lists the thresholds already recorded for this entry (``"yellow"``, ``"red"``,
    ``"escalated"``); re-entering a stage gives a new ``stage_seq`` and an empty list.
    """

    case_id: UUID
    level: int
    category: str
    stage: Stage | None  # None: rejected or closed, no clock runs
    stage_seq: int
    stage_entered_at: datetime
    pauses: tuple[Pause, ...] = ()
    extension_days: int = 0
    emitted: tuple[str, ...] = ()

    @property
    def suspended(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].end is None


class SlaRule(msgspec.Struct, frozen=True, kw_only=True):
    """The limit of one stage; exactly one of ``limit_hours`` / ``limit_days``.

    ``yellow_at`` / ``red_at`` are fractions of the allowed working time elapsed.
    """

    level: int
    stage: Stage
    category: str | None = None
    limit_hours: float | None = None
    limit_days: int | None = None
    yellow_at: float = 0.75
    red_at: float = 1.0

    def __post_init__(self) -> None:
        if self.level not in (1, 2, 3, 4) or self.stage not in CASE_STAGES:
            raise InvalidValue("SLA rule needs a level 1..4 and a known stage", field="rule")
        if self.category is not None and not self.category.strip():
            raise InvalidValue("SLA rule category must not be blank", field="category")
        if (self.limit_hours is None) == (self.limit_days is None):
            raise InvalidValue("give exactly one of limit_hours, limit_days", field="limit")
        if self.limit_hours is not None and not (
            math.isfinite(self.limit_hours) and self.limit_hours > 0
        ):
            raise InvalidValue("limit_hours must be > 0", field="limit_hours")
        if self.limit_days is not None and self.limit_days < 0:
            raise InvalidValue("limit_days must be >= 0", field="limit_days")
        if not (0 < self.yellow_at < self.red_at and math.isfinite(self.red_at)):
            raise InvalidValue("need 0 < yellow_at < red_at", field="yellow_at")


class SlaPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """A set of rules; at most one per (level, category, stage)."""

    rules: tuple[SlaRule, ...]

    def __post_init__(self) -> None:
        keys = [(r.level, r.category, r.stage) for r in self.rules]
        if len(set(keys)) != len(keys):
            raise InvalidValue("two SLA rules for the same level, category and stage")

    def rule_for(self, level: int, category: str | None, stage: Stage) -> SlaRule | None:
        """The category's own rule, else the level's category-less rule, else None."""
        fallback = None
        for rule in self.rules:
            if rule.level != level or rule.stage != stage:
                continue
            if rule.category == category:
                return rule
            if rule.category is None:
                fallback = rule
        return fallback


def default_policy() -> SlaPolicy:
    """Acceptance 4 h, dispatch 1 d, sign-for 4 h, handling 3/5/10 d (grid/village/town),
    verification 1 d, closing 1 d — working time."""
    handling_days = {1: 10, 2: 5, 3: 3, 4: 3}
    rules: list[SlaRule] = []
    for level, days in handling_days.items():
        rules += [
            SlaRule(level=level, stage="acceptance", limit_hours=4),
            SlaRule(level=level, stage="dispatch", limit_days=1),
            SlaRule(level=level, stage="sign_for", limit_hours=4),
            SlaRule(level=level, stage="handling", limit_days=days),
            SlaRule(level=level, stage="verification", limit_days=1),
            SlaRule(level=level, stage="closing", limit_days=1),
        ]
    return SlaPolicy(rules=tuple(rules))


DEFAULT_POLICY: Final = default_policy()


def deadline(
    rule: SlaRule,
    stage_entered_at: datetime,
    paused_total: timedelta,
    extension_days: int,
    calendar: WorkingCalendar,
) -> datetime:
    """When the stage is due; ``paused_total`` is the *working* time the stage was suspended."""
    if rule.limit_hours is not None:
        allowed = timedelta(hours=rule.limit_hours) + extension_days * _WORKING_DAY
        return calendar.add_working_time(stage_entered_at, allowed + paused_total)
    assert rule.limit_days is not None  # __post_init__ guarantees one of the two
    due = calendar.add_working_days(stage_entered_at, rule.limit_days + extension_days)
    return calendar.add_working_time(due, paused_total)


def deadline_provisional(calendar: WorkingCalendar, entered_at: datetime, due: datetime) -> bool:
    """Whether the stage's clock ran over a year without holiday data between entry and due."""
    first, last = (moment.astimezone(CHINA_TZ).date() for moment in (entered_at, due))
    return bool(calendar.uncovered_years(first, last))


def sla_horizon(
    start: datetime, policy: SlaPolicy, calendar: WorkingCalendar, *, delay_days: int
) -> datetime:
    """The latest deadline of a stage entered at ``start``: the policy's longest limit plus
    ``delay_days`` of approved delay (延期), counted on ``calendar``."""
    longest = max((_limit_in_days(rule) for rule in policy.rules), default=0)
    return calendar.add_working_days(start, longest + delay_days)


def _limit_in_days(rule: SlaRule) -> int:
    if rule.limit_days is not None:
        return rule.limit_days
    assert rule.limit_hours is not None  # __post_init__ guarantees one of the two
    return math.ceil(rule.limit_hours / WORKING_DAY_HOURS)


def threshold_at(
    rule: SlaRule,
    fraction: float,
    stage_entered_at: datetime,
    paused_total: timedelta,
    extension_days: int,
    calendar: WorkingCalendar,
) -> datetime:
    """When ``fraction`` of the allowed working time will have elapsed."""
    due = deadline(rule, stage_entered_at, timedelta(0), extension_days, calendar)
    allowed = calendar.working_time_between(stage_entered_at, due)
    return calendar.add_working_time(stage_entered_at, allowed * fraction + paused_total)


def colour(
    now: datetime,
    rule: SlaRule,
    stage_entered_at: datetime,
    paused_total: timedelta,
    extension_days: int,
    calendar: WorkingCalendar,
) -> SlaColour:
    """Green before ``yellow_at``, yellow from it, red from ``red_at`` (inclusive)."""
    args = (stage_entered_at, paused_total, extension_days, calendar)
    if now >= threshold_at(rule, rule.red_at, *args):
        return "red"
    if now >= threshold_at(rule, rule.yellow_at, *args):
        return "yellow"
    return "green"


def paused_time(pauses: tuple[Pause, ...], now: datetime, calendar: WorkingCalendar) -> timedelta:
    """Working time covered by the pauses; an open pause counts up to ``now``."""
    total = timedelta(0)
    for pause in pauses:
        total += calendar.working_time_between(pause.start, pause.end or now)
    return total


def clock_deadline(
    clock: SlaClock, now: datetime, policy: SlaPolicy, calendar: WorkingCalendar
) -> datetime | None:
    """The current stage's deadline as of ``now`` (it moves while suspended); None if none."""
    rule = _rule(clock, policy)
    if rule is None:
        return None
    paused = paused_time(clock.pauses, now, calendar)
    return deadline(rule, clock.stage_entered_at, paused, clock.extension_days, calendar)


def due_events(
    clock: SlaClock, now: datetime, policy: SlaPolicy, calendar: WorkingCalendar
) -> list[tuple[Stage, Threshold]]:
    """The threshold the scheduler should record now for this stage entry, if any.

    Only the most severe threshold reached is returned: when the scheduler first looks at a
    case that is already red, a late yellow warning would only be noise. Nothing is due while
    the case is suspended (its clock stands still) or once the threshold was recorded.
    """
    rule = _rule(clock, policy)
    if rule is None or clock.stage is None or clock.suspended:
        return []
    paused = paused_time(clock.pauses, now, calendar)
    current = colour(now, rule, clock.stage_entered_at, paused, clock.extension_days, calendar)
    if current == "green" or current in clock.emitted or "red" in clock.emitted:
        return []
    return [(clock.stage, current)]


def _rule(clock: SlaClock, policy: SlaPolicy) -> SlaRule | None:
    if clock.stage is None:
        return None
    return policy.rule_for(clock.level, clock.category, clock.stage)
