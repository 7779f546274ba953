"""Assessment schemes (考核办法): versioned scoring rules defined by an admin as events.

An ``AssessmentScheme`` is identified by its code. Each ``define``/``revise`` records a
numbered :class:`SchemeVersion` with an ``effective_from`` day; a period is scored with the
version in force on its first day (``version_on(period.start)``), so a revision never changes
the scores of periods that began before it, and a sign-off records the version it used.

A version is a list of indicators:

* a *scored* indicator has a ``weight`` (the marks it can give; the weights of a version add
  up to 100) and two thresholds: full marks at or above ``full_at``, zero below
  ``zero_below``, linear in between. Rates (``*_rate``) are percentages 0..100;
* a *penalty* indicator deducts ``per_occurrence`` marks for each occurrence, at most ``cap``.

A scheme scores one kind of period (``period_kind``: quarter, month or bi-week), fixed when it
is defined: its count targets are meant for that length of time, so a quarterly scheme never
scores a month by accident (a township wanting both defines two schemes).

The indicators are the ones :mod:`projections.assessment_facts` can count (see
``INDICATORS``); scoring itself is in :mod:`events.assessment_scoring`.
"""

import re
from datetime import date
from typing import Final, Literal, Self
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, event

from events.assessment_errors import InvalidScheme
from events.assessment_period import PeriodKind
from events.codes import CodeKeyed
from events.errors import InvalidTransition
from events.meta import EventMeta
from events.validation import ensure_not_before, validate_text

__all__ = [
    "DEFAULT_SCHEME_CODE",
    "DEFAULT_SCHEME_INDICATORS",
    "INDICATORS",
    "PENALTY_INDICATORS",
    "RATE_INDICATORS",
    "SCHEME_NAMESPACE",
    "AssessmentScheme",
    "IndicatorCode",
    "IndicatorSpec",
    "SchemeVersion",
    "validate_scheme_code",
]

IndicatorCode = Literal[
    "visits",
    "households_visited",
    "cases_reported",
    "cases_closed_on_time_rate",
    "mediations_succeeded",
    "points_earned",
    "overdue_cases",
    "points_deducted",
]
INDICATORS: Final[tuple[str, ...]] = IndicatorCode.__args__  # type: ignore[attr-defined]
PENALTY_INDICATORS: Final = frozenset({"overdue_cases", "points_deducted"})
RATE_INDICATORS: Final = frozenset({"cases_closed_on_time_rate"})
SCHEME_NAMESPACE: Final = UUID("0c7b9c3e-52a4-4f0e-9d61-7a0f3f4b7d75")
TOTAL_WEIGHT: Final = 100
MAX_INDICATORS: Final = 16
MAX_TARGET: Final = 1_000_000
_CODE: Final = re.compile(r"[a-z][a-z0-9_.-]{1,47}")


class IndicatorSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a scheme; scored lines use weight/thresholds, penalties per_occurrence/cap."""

    indicator: IndicatorCode
    weight: int = 0
    full_at: int = 0
    zero_below: int = 0
    per_occurrence: int = 0
    cap: int = 0


DEFAULT_SCHEME_CODE: Final = "township"
DEFAULT_SCHEME_INDICATORS: Final = (
    # A quarter of a grid of ~50 households: every household at least once, most three times.
    IndicatorSpec(indicator="visits", weight=30, full_at=150, zero_below=50),
    IndicatorSpec(indicator="households_visited", weight=25, full_at=50, zero_below=25),
    IndicatorSpec(indicator="cases_reported", weight=15, full_at=6, zero_below=0),
    IndicatorSpec(indicator="cases_closed_on_time_rate", weight=20, full_at=95, zero_below=60),
    IndicatorSpec(indicator="mediations_succeeded", weight=10, full_at=2, zero_below=0),
    IndicatorSpec(indicator="overdue_cases", per_occurrence=2, cap=10),
)
"""The quarterly scheme a new township starts with (镇网格员季度考核办法); admins revise it."""


class SchemeVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One numbered version of a scheme; a sign-off records which one it used."""

    code: str
    scheme_version: int
    period_kind: PeriodKind
    label: str
    indicators: tuple[IndicatorSpec, ...]
    effective_from: date


def validate_scheme_code(code: str) -> str:
    code = code.strip()
    if not _CODE.fullmatch(code):
        raise InvalidScheme("scheme code must be 2..48 of [a-z0-9_.-]", field="code")
    return code


def _check_penalty(spec: IndicatorSpec, index: int) -> None:
    if spec.weight or spec.full_at or spec.zero_below:
        raise InvalidScheme("a penalty has no weight or thresholds", index=index)
    if not 1 <= spec.per_occurrence <= spec.cap <= TOTAL_WEIGHT:
        raise InvalidScheme("a penalty needs 1 <= per_occurrence <= cap <= 100", index=index)


def _check_scored(spec: IndicatorSpec, index: int) -> None:
    if spec.per_occurrence or spec.cap:
        raise InvalidScheme("only penalties have per_occurrence and cap", index=index)
    if spec.weight < 1:
        raise InvalidScheme("a scored indicator needs a weight >= 1", index=index)
    top = 100 if spec.indicator in RATE_INDICATORS else MAX_TARGET
    if not 0 <= spec.zero_below <= spec.full_at <= top or spec.full_at < 1:
        raise InvalidScheme(
            f"thresholds need 0 <= zero_below <= full_at <= {top} and full_at >= 1", index=index
        )


def validate_indicators(indicators: tuple[IndicatorSpec, ...]) -> tuple[IndicatorSpec, ...]:
    """The scheme rules: known, distinct indicators; weights of scored lines add up to 100."""
    if not 1 <= len(indicators) <= MAX_INDICATORS:
        raise InvalidScheme(f"a scheme has 1..{MAX_INDICATORS} indicators", field="indicators")
    seen: set[str] = set()
    for index, spec in enumerate(indicators):
        if spec.indicator not in INDICATORS:
            raise InvalidScheme("unknown indicator", index=index, value=str(spec.indicator))
        if spec.indicator in seen:
            raise InvalidScheme("an indicator appears twice", index=index)
        seen.add(spec.indicator)
        check = _check_penalty if spec.indicator in PENALTY_INDICATORS else _check_scored
        check(spec, index)
    total = sum(s.weight for s in indicators)
    if total != TOTAL_WEIGHT:
        raise InvalidScheme("weights must add up to 100", field="indicators", total=total)
    return indicators


class AssessmentScheme(CodeKeyed, Aggregate):
    """A scheme with its numbered, effective-dated versions."""

    id_namespace = SCHEME_NAMESPACE
    id_prefix = "assessment-scheme:"

    class Defined(Aggregate.Created):
        code: str
        period_kind: PeriodKind
        label: str
        indicators: tuple[IndicatorSpec, ...]
        effective_from: date
        meta: EventMeta

    class Revised(Aggregate.Event):
        scheme_version: int
        label: str
        indicators: tuple[IndicatorSpec, ...]
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
        period_kind: PeriodKind,
        label: str,
        indicators: tuple[IndicatorSpec, ...],
        effective_from: date,
        meta: EventMeta,
    ) -> Self:
        """Define version 1."""
        if period_kind not in ("quarter", "month", "biweek"):
            raise InvalidScheme("unknown period kind", field="period_kind")
        return cls(
            code=validate_scheme_code(code),
            period_kind=period_kind,
            label=validate_text(label, field="label", max_len=64),
            indicators=validate_indicators(tuple(indicators)),
            effective_from=effective_from,
            meta=meta,
        )

    @event(Defined)
    def __init__(
        self,
        code: str,
        period_kind: PeriodKind,
        label: str,
        indicators: tuple[IndicatorSpec, ...],
        effective_from: date,
        meta: EventMeta,
    ) -> None:
        self.code = code
        self.period_kind: PeriodKind = period_kind
        self.versions: list[SchemeVersion] = []
        self.retired_from: date | None = None
        self._add_version(1, label, indicators, effective_from)

    # -- queries ---------------------------------------------------------------------------

    @property
    def current(self) -> SchemeVersion:
        return self.versions[-1]

    def version_on(self, day: date) -> SchemeVersion | None:
        """The version in force on ``day``: None before the first or from retirement on."""
        if self.retired_from is not None and day >= self.retired_from:
            return None
        # Later versions win on equal dates: they were recorded after the earlier ones.
        return next((v for v in reversed(self.versions) if v.effective_from <= day), None)

    # -- commands --------------------------------------------------------------------------

    def revise(
        self,
        *,
        label: str,
        indicators: tuple[IndicatorSpec, ...],
        effective_from: date,
        meta: EventMeta,
    ) -> int:
        """Record the next version; returns its number. Unchanged terms are a no-op."""
        self._check_change(effective_from)
        label = validate_text(label, field="label", max_len=64)
        indicators = validate_indicators(tuple(indicators))
        current = self.current
        if (label, indicators, effective_from) != (
            current.label,
            current.indicators,
            current.effective_from,
        ):
            self._revised(
                scheme_version=current.scheme_version + 1,
                label=label,
                indicators=indicators,
                effective_from=effective_from,
                meta=meta,
            )
        return self.current.scheme_version

    def retire(self, effective_from: date, reason: str, *, meta: EventMeta) -> None:
        """No version is in force from ``effective_from``; final."""
        self._check_change(effective_from)
        reason = validate_text(reason, field="reason", max_len=200)
        self._retired(effective_from=effective_from, reason=reason, meta=meta)

    def _check_change(self, effective_from: date) -> None:
        if self.retired_from is not None:
            raise InvalidTransition("assessment scheme is retired", state="retired")
        ensure_not_before(effective_from, self.current.effective_from)

    # -- event appliers (also run on replay: no validation here) ----------------------------

    def _add_version(
        self, number: int, label: str, indicators: tuple[IndicatorSpec, ...], effective_from: date
    ) -> None:
        self.versions.append(
            SchemeVersion(
                code=self.code,
                scheme_version=number,
                period_kind=self.period_kind,
                label=label,
                indicators=tuple(indicators),
                effective_from=effective_from,
            )
        )

    @event(Revised)
    def _revised(
        self,
        scheme_version: int,
        label: str,
        indicators: tuple[IndicatorSpec, ...],
        effective_from: date,
        meta: EventMeta,
    ) -> None:
        self._add_version(scheme_version, label, indicators, effective_from)

    @event(Retired)
    def _retired(self, effective_from: date, reason: str, meta: EventMeta) -> None:
        self.retired_from = effective_from
