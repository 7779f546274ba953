"""Point rules (积分规则): what earns or costs points, versioned by effective date.

A ``PointRule`` is identified by its code; its trigger and target are part of that identity
and never change. Its terms (points, caps, commendation, label) change by ``revise``: each
``define``/``revise`` records a numbered :class:`RuleVersion` with an ``effective_from`` day.
An award snapshots the version in force when its source event happened (``version_on``), so
revising a rule never changes awards already proposed.

Term rules:

* ``points`` may be negative only for deduction triggers (``staff_deduction`` must be
  negative; ``household_conduct`` may go either way, e.g. 村规民约 bonus or deduction);
* ``points == 0`` only for a commendation (a title without points);
* caps apply to credits: a negative rule has no caps; a cap is >= 1, at least ``points``,
  and the daily cap is not above the total cap;
* a commendation matches the target (星级文明户/美丽庭院 → household, 优秀网格员 → staff)
  and is never a deduction.
"""

import re
from datetime import date
from typing import Final, Literal, Self, get_args
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, event

from events.codes import CodeKeyed
from events.errors import InvalidTransition, InvalidValue
from events.meta import EventMeta
from events.validation import ensure_not_before, validate_text

__all__ = [
    "COMMENDATION_TARGET",
    "DEDUCTION_TRIGGERS",
    "POINT_RULE_NAMESPACE",
    "Commendation",
    "PointRule",
    "RuleTarget",
    "RuleTerms",
    "RuleTrigger",
    "RuleVersion",
    "validate_rule_code",
]

RuleTrigger = Literal[
    "visit_recorded",
    "case_reported",
    "case_closed",
    "mediation_agreement",
    "manual_commendation",
    "staff_deduction",
    "household_conduct",
]
RuleTarget = Literal["household", "staff"]
# 星级文明户, 美丽庭院, 优秀网格员
Commendation = Literal["star_civilised_household", "beautiful_courtyard", "excellent_grid_member"]

POINT_RULE_NAMESPACE: Final = UUID("de99f0fe-1145-4527-8630-af4cc5a52b00")
DEDUCTION_TRIGGERS: Final[frozenset[str]] = frozenset({"staff_deduction", "household_conduct"})
COMMENDATION_TARGET: Final[dict[str, RuleTarget]] = {
    "star_civilised_household": "household",
    "beautiful_courtyard": "household",
    "excellent_grid_member": "staff",
}
_TRIGGER_TARGET: Final[dict[str, RuleTarget]] = {
    "staff_deduction": "staff",
    "household_conduct": "household",
}
_CODE: Final = re.compile(r"[a-z][a-z0-9_.-]{1,47}")
LABEL_MAX: Final = 64


class RuleTerms(msgspec.Struct, frozen=True, kw_only=True):
    """The revisable part of a rule."""

    points: int
    daily_cap: int | None
    total_cap: int | None
    commendation: Commendation | None
    label: str


class RuleVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One numbered version of a rule; awards record it whole."""

    code: str
    rule_version: int
    trigger: RuleTrigger
    target: RuleTarget
    points: int
    daily_cap: int | None
    total_cap: int | None
    commendation: Commendation | None
    label: str
    effective_from: date


def validate_rule_code(code: str) -> str:
    code = code.strip()
    if not _CODE.fullmatch(code):
        raise InvalidValue("rule code must be 2..48 of [a-z0-9_.-]", field="code")
    return code


def _check_points(trigger: str, terms: RuleTerms) -> None:
    if terms.points < 0 and trigger not in DEDUCTION_TRIGGERS:
        raise InvalidValue("only deduction rules may have negative points", field="points")
    if trigger == "staff_deduction" and terms.points >= 0:
        raise InvalidValue("a staff deduction must be negative", field="points")
    if terms.points == 0 and terms.commendation is None:
        raise InvalidValue("a rule of 0 points must confer a commendation", field="points")


def _check_caps(terms: RuleTerms) -> None:
    caps = {"daily_cap": terms.daily_cap, "total_cap": terms.total_cap}
    for field, cap in caps.items():
        if cap is None:
            continue
        if terms.points < 0:
            raise InvalidValue("deductions have no caps", field=field)
        if cap < max(1, terms.points):
            raise InvalidValue("a cap must be >= 1 and >= points", field=field)
    if terms.daily_cap and terms.total_cap and terms.daily_cap > terms.total_cap:
        raise InvalidValue("daily_cap is above total_cap", field="daily_cap")


def _check_commendation(target: str, terms: RuleTerms) -> None:
    if terms.commendation is None:
        return
    if COMMENDATION_TARGET.get(terms.commendation) != target:
        raise InvalidValue("commendation does not fit the target", field="commendation")
    if terms.points < 0:
        raise InvalidValue("a commendation cannot deduct points", field="commendation")


def _validate_terms(trigger: str, target: str, terms: RuleTerms) -> RuleTerms:
    terms = msgspec.structs.replace(
        terms, label=validate_text(terms.label, field="label", max_len=LABEL_MAX)
    )
    _check_points(trigger, terms)
    _check_caps(terms)
    _check_commendation(target, terms)
    return terms


def _validate_kind(trigger: str, target: str) -> None:
    if trigger not in get_args(RuleTrigger):
        raise InvalidValue("unknown trigger", field="trigger", value=trigger)
    if target not in ("household", "staff"):
        raise InvalidValue("unknown target", field="target", value=target)
    if _TRIGGER_TARGET.get(trigger, target) != target:
        raise InvalidValue("trigger does not fit the target", field="target")


class PointRule(CodeKeyed, Aggregate):
    """A rule with its numbered, effective-dated versions."""

    id_namespace = POINT_RULE_NAMESPACE
    id_prefix = "point-rule:"

    class Defined(Aggregate.Created):
        code: str
        trigger: RuleTrigger
        target: RuleTarget
        terms: RuleTerms
        effective_from: date
        meta: EventMeta

    class Revised(Aggregate.Event):
        rule_version: int
        terms: RuleTerms
        effective_from: date
        meta: EventMeta

    class Retired(Aggregate.Event):
        effective_from: date
        reason: str
        meta: EventMeta

    @classmethod
    def define(
        cls,
        *,
        code: str,
        trigger: RuleTrigger,
        target: RuleTarget,
        terms: RuleTerms,
        effective_from: date,
        meta: EventMeta,
    ) -> Self:
        """Define version 1 of a rule."""
        _validate_kind(trigger, target)
        return cls(
            code=validate_rule_code(code),
            trigger=trigger,
            target=target,
            terms=_validate_terms(trigger, target, terms),
            effective_from=effective_from,
            meta=meta,
        )

    @event(Defined)
    def __init__(
        self,
        code: str,
        trigger: RuleTrigger,
        target: RuleTarget,
        terms: RuleTerms,
        effective_from: date,
        meta: EventMeta,
    ) -> None:
        self.code = code
        self.trigger: RuleTrigger = trigger
        self.target: RuleTarget = target
        self.versions: list[RuleVersion] = []
        self.retired_from: date | None = None
        self._add_version(1, terms, effective_from)

    # -- queries ---------------------------------------------------------------------------

    @property
    def current(self) -> RuleVersion:
        return self.versions[-1]

    @property
    def rule_version(self) -> int:
        return self.current.rule_version

    def get_version(self, rule_version: int) -> RuleVersion:
        """Version number ``rule_version`` (1-based)."""
        if not 1 <= rule_version <= len(self.versions):
            raise InvalidValue("no such rule version", field="rule_version", value=rule_version)
        return self.versions[rule_version - 1]

    def version_on(self, day: date) -> RuleVersion | None:
        """The version in force on ``day``: None before the first or from retirement on."""
        if self.retired_from is not None and day >= self.retired_from:
            return None
        # Later versions win on equal dates: they were recorded after the earlier ones.
        return next((v for v in reversed(self.versions) if v.effective_from <= day), None)

    # -- commands --------------------------------------------------------------------------

    def revise(self, terms: RuleTerms, effective_from: date, *, meta: EventMeta) -> int:
        """Record the next version; returns its number. Unchanged terms are a no-op."""
        self._check_change(effective_from)
        terms = _validate_terms(self.trigger, self.target, terms)
        if terms != self._terms(self.current):
            self._revised(
                rule_version=self.rule_version + 1,
                terms=terms,
                effective_from=effective_from,
                meta=meta,
            )
        return self.rule_version

    def retire(self, effective_from: date, reason: str, *, meta: EventMeta) -> None:
        """No version is in force from ``effective_from``; final."""
        self._check_change(effective_from)
        reason = validate_text(reason, field="reason", max_len=200)
        self._retired(effective_from=effective_from, reason=reason, meta=meta)

    def _check_change(self, effective_from: date) -> None:
        if self.retired_from is not None:
            raise InvalidTransition("point rule is retired", state="retired", code=self.code)
        ensure_not_before(effective_from, self.current.effective_from)

    @staticmethod
    def _terms(v: RuleVersion) -> RuleTerms:
        return RuleTerms(
            points=v.points,
            daily_cap=v.daily_cap,
            total_cap=v.total_cap,
            commendation=v.commendation,
            label=v.label,
        )

    # -- event appliers (also run on replay: no validation here) ----------------------------

    def _add_version(self, number: int, terms: RuleTerms, effective_from: date) -> None:
        self.versions.append(
            RuleVersion(
                code=self.code,
                rule_version=number,
                trigger=self.trigger,
                target=self.target,
                effective_from=effective_from,
                **msgspec.structs.asdict(terms),
            )
        )

    @event(Revised)
    def _revised(
        self, rule_version: int, terms: RuleTerms, effective_from: date, meta: EventMeta
    ) -> None:
        self._add_version(rule_version, terms, effective_from)

    @event(Retired)
    def _retired(self, effective_from: date, reason: str, meta: EventMeta) -> None:
        self.retired_from = effective_from
