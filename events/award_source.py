"""What an award may cite as its source (DESIGN §4: awards trace to their source events).

An award's ``source_event_id`` names the field record that earned it: a visit, a case or a
mediation (each is the aggregate the phone's event created, under that event's id). The rule's
trigger decides which kinds it accepts and in which state:

=====================  ===========================  ========================================
trigger                source                       earns only while
=====================  ===========================  ========================================
visit_recorded         a visit                      it is not voided
case_reported          a case                       it is not rejected (不予受理)
case_closed            a case                       it is closed (a reopened case is not)
mediation_agreement    a mediation                  it is concluded with an agreement
manual_commendation,   a visit, a case or a         it is live: a visit not voided, a case
household_conduct,     mediation                    not rejected (a mediation in any state)
staff_deduction
=====================  ===========================  ========================================

An amended visit is still its visit (an amendment corrects notes and needs only).

The source must *concern the award's owner*. A household: the visited household, the case's
household, or a party of the mediation — the household itself, or a person party who is or was
one of its persons. A staff member: who recorded the visit, who reported the case or was
dispatched it, or a mediator with that staff record.

:func:`check_source` decides, in this order: the kind (``SourceKindMismatch``, 40030), the
owner (``SourceNotOwners``, 40031), then the state (``SourceEarnsNothing``, 40932). Whether
the source exists at all and whether the proposer may cite it (their scope) need reads: the
backend asks those first (``backend.services.award_sources``), at the proposal (HTTP and
push alike) and again, without the scope, when the award is approved — a visit voided or a
case reopened in between earns nothing.
"""

from typing import ClassVar, Final, Literal
from uuid import UUID

import msgspec

from events.case import Case
from events.errors import InvalidTransition, InvalidValue
from events.mediation import Mediation
from events.point_rules import RuleTarget
from events.visit import Visit

__all__ = [
    "TRIGGER_SOURCES",
    "AwardOwner",
    "AwardSource",
    "SourceEarnsNothing",
    "SourceKind",
    "SourceKindMismatch",
    "SourceNotOwners",
    "award_source",
    "check_source",
    "waiting_kind",
]

SourceKind = Literal["visit", "case", "mediation"]
_ANY: Final[frozenset[SourceKind]] = frozenset({"visit", "case", "mediation"})
TRIGGER_SOURCES: Final[dict[str, frozenset[SourceKind]]] = {
    "visit_recorded": frozenset({"visit"}),
    "case_reported": frozenset({"case"}),
    "case_closed": frozenset({"case"}),
    "mediation_agreement": frozenset({"mediation"}),
    "manual_commendation": _ANY,
    "household_conduct": _ANY,
    "staff_deduction": _ANY,
}
# The state a trigger needs its source in; the others need it only live.
_REQUIRED_STATE: Final[dict[str, str]] = {
    "case_closed": "closed",
    "mediation_agreement": "agreement",
}
_DEAD: Final = frozenset({"voided", "rejected"})


class SourceKindMismatch(InvalidValue):
    """errcode 40030: the source is not a record of a kind the rule's trigger names (or not a
    visit, case or mediation at all). ``details``: ``field``, ``trigger``, ``expected``."""

    errcode: ClassVar[int] = 40030


class SourceNotOwners(InvalidValue):
    """errcode 40031: the source does not concern the award's owner. ``details["field"]``."""

    errcode: ClassVar[int] = 40031


class SourceEarnsNothing(InvalidTransition):
    """errcode 40932 (HTTP 409): the source is in a state that earns nothing under the rule
    (voided, rejected, not closed, no agreement). ``details``: ``field``, ``state``,
    ``trigger``."""

    errcode: ClassVar[int] = 40932


class AwardSource(msgspec.Struct, frozen=True, kw_only=True):
    """A source record as far as awards care. ``units`` are the grid units it belongs to
    (a mediation's are its parties' grids, found by the backend)."""

    kind: SourceKind
    state: str
    units: frozenset[UUID]
    households: frozenset[UUID]
    persons: frozenset[UUID]
    staff: frozenset[UUID]


class AwardOwner(msgspec.Struct, frozen=True, kw_only=True):
    """Whom the award is for; ``persons`` are everyone who is or was of the household."""

    kind: RuleTarget
    owner_id: UUID
    persons: frozenset[UUID] = frozenset()


def award_source(record: object) -> AwardSource | None:
    """The facts of a visit, case or mediation; None for any other aggregate."""
    if isinstance(record, Visit):
        return AwardSource(
            kind="visit", state=record.state, units=frozenset({record.grid_id}),
            households=frozenset({record.household_id}), persons=frozenset(),
            staff=_ids(record.recorded_by),
        )  # fmt: skip
    if isinstance(record, Case):
        return AwardSource(
            kind="case", state=record.status,
            units=_ids(record.holder_unit_id, record.assignee_unit_id),
            households=_ids(record.household_id), persons=frozenset(),
            staff=_ids(record.reporter.staff_id, record.assignee_staff_id),
        )  # fmt: skip
    if isinstance(record, Mediation):
        return _mediation_source(record)
    return None


def _mediation_source(mediation: Mediation) -> AwardSource:
    parties = mediation.parties
    return AwardSource(
        kind="mediation", state=mediation.outcome or mediation.state, units=frozenset(),
        households=frozenset(p.ref_id for p in parties if p.kind == "household"),
        persons=frozenset(p.ref_id for p in parties if p.kind == "person"),
        staff=_ids(*(m.staff_id for m in mediation.mediators)),
    )  # fmt: skip


def _ids(*ids: UUID | None) -> frozenset[UUID]:
    return frozenset(i for i in ids if i is not None)


def check_source(trigger: str, source: AwardSource | None, owner: AwardOwner) -> None:
    """Raise unless ``source`` may earn an award under ``trigger`` for ``owner``."""
    expected = TRIGGER_SOURCES.get(trigger, frozenset())
    if source is None or source.kind not in expected:
        raise SourceKindMismatch(
            f"a {trigger} rule needs a {' or '.join(sorted(expected))} as its source",
            field="source_event_id", trigger=trigger, expected=sorted(expected),
        )  # fmt: skip
    if not _concerns(source, owner):
        raise SourceNotOwners(
            f"the source {source.kind} does not concern this {owner.kind}", field="source_event_id"
        )
    required = _REQUIRED_STATE.get(trigger)
    if source.state in _DEAD or (required is not None and source.state != required):
        raise SourceEarnsNothing(
            f"the source {source.kind} is {source.state}: it earns nothing under {trigger}",
            field="source_event_id", state=source.state, trigger=trigger,
        )  # fmt: skip


def _concerns(source: AwardSource, owner: AwardOwner) -> bool:
    if owner.kind == "staff":
        return owner.owner_id in source.staff
    return owner.owner_id in source.households or bool(owner.persons & source.persons)


def waiting_kind(trigger: str) -> str:
    """What a pushed award waits for while its source is unknown (``waiting_for`` kind)."""
    kinds = TRIGGER_SOURCES.get(trigger, _ANY)
    return next(iter(kinds)) if len(kinds) == 1 else "source_event"
