"""Stories of what an award may cite as its source: a record of the kind its rule's trigger
names, about the award's owner, in a state that earns."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from events.award_source import (
    AwardOwner,
    SourceEarnsNothing,
    SourceKindMismatch,
    SourceNotOwners,
    award_source,
    check_source,
    waiting_kind,
)
from events.mediation import Mediation, Mediator, Party
from events.visit import Visit, VisitFindings
from tests.unit.events.conftest import GRID_A, MEMBER, SUPERVISOR, meta
from tests.unit.events.test_case import ACTIONS, case_in, report

HOUSEHOLD, NEIGHBOUR, SPOUSE = UUID(int=801), UUID(int=802), UUID(int=803)
HANDLER = UUID(int=20)  # the staff member test_case's cases are dispatched to
WHEN = datetime(2026, 3, 2, 10, tzinfo=UTC)
FAMILY = AwardOwner(kind="household", owner_id=HOUSEHOLD, persons=frozenset({SPOUSE}))
THE_MEMBER = AwardOwner(kind="staff", owner_id=MEMBER)


def visit(household_id: UUID = HOUSEHOLD) -> Visit:
    return Visit.record(
        visit_id=uuid4(), household_id=household_id, grid_id=GRID_A, purpose="routine",
        method="in_person", visited_at=WHEN, findings=VisitFindings(), meta=meta(),
    )  # fmt: skip


def mediation(*parties: Party) -> Mediation:
    return Mediation.open(
        mediation_id=uuid4(), case_id=None,
        parties=parties or (
            Party(kind="household", ref_id=NEIGHBOUR, role="applicant"),
            Party(kind="person", ref_id=SPOUSE, role="respondent"),
        ),
        mediators=(Mediator(staff_id=MEMBER, name="王网格", kind="grid_member"),),
        meta=meta(),
    )  # fmt: skip


def agreed(m: Mediation) -> Mediation:
    m.record_session(uuid4(), WHEN, "调解", (m.parties[0].ref_id,), meta=meta())
    m.conclude("agreement", agreement_summary="互谅互让", meta=meta())
    return m


def check(trigger: str, record: Any, owner: AwardOwner = FAMILY) -> None:
    check_source(trigger, award_source(record), owner)


def test_a_visit_earns_a_visit_award_for_its_household_and_its_visitor() -> None:
    # given a visit member A1 recorded to the household
    v = visit()
    # then it may earn a visit award for the household, and one for the member
    check("visit_recorded", v)
    check("visit_recorded", v, THE_MEMBER)
    # and an amended visit is still a source; a voided one earns nothing (409 40932)
    v.amend(notes="补记", meta=meta())
    check("visit_recorded", v)
    v.void("录错户", meta=meta())
    with pytest.raises(SourceEarnsNothing) as err:
        check("visit_recorded", v)
    assert (err.value.errcode, err.value.details) == (
        40932, {"field": "source_event_id", "state": "voided", "trigger": "visit_recorded"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("trigger", "record"),
    [
        ("visit_recorded", report(household_id=HOUSEHOLD)),  # a case for a visit rule
        ("case_closed", visit()),
        ("mediation_agreement", visit()),
        ("case_reported", object()),  # not a field record at all (say, the household itself)
    ],
)
def test_a_source_of_another_kind_is_refused(trigger: str, record: Any) -> None:
    # when a rule is given a record its trigger does not name
    with pytest.raises(SourceKindMismatch) as err:
        check(trigger, record)
    # then it is refused on the source (400 40030), naming what the trigger wants
    assert (err.value.errcode, err.value.details["field"]) == (40030, "source_event_id")
    assert err.value.details["trigger"] == trigger


@pytest.mark.parametrize(
    ("trigger", "record", "owner"),
    [
        ("visit_recorded", visit(NEIGHBOUR), FAMILY),  # a visit to the neighbour
        ("visit_recorded", visit(), AwardOwner(kind="staff", owner_id=SUPERVISOR)),  # not theirs
        ("case_reported", report(household_id=None), FAMILY),  # a case about no household
        (
            "manual_commendation",
            mediation(
                Party(kind="household", ref_id=NEIGHBOUR, role="applicant"),
                Party(kind="person", ref_id=uuid4(), role="respondent"),
            ),
            FAMILY,
        ),  # a dispute between others
    ],
)
def test_a_source_about_someone_else_is_refused(
    trigger: str, record: Any, owner: AwardOwner
) -> None:
    with pytest.raises(SourceNotOwners) as err:
        check(trigger, record, owner)
    assert (err.value.errcode, err.value.details) == (40031, {"field": "source_event_id"})


def test_a_case_earns_by_its_trigger_while_it_stands() -> None:
    # given a case about the household, reported by member A1
    case = report(household_id=HOUSEHOLD)
    # then its report earns for the household and the reporter, not yet its closure
    check("case_reported", case)
    check("case_reported", case, THE_MEMBER)
    with pytest.raises(SourceEarnsNothing):
        check("case_closed", case)
    # when it is closed (handled by the dispatched staff member), the closure earns, for them too
    closed = case_in("closed")
    check("case_closed", closed, THE_MEMBER)
    check("case_closed", closed, AwardOwner(kind="staff", owner_id=HANDLER))
    # and when it is reopened, or another one is rejected, they earn nothing
    ACTIONS["reopen"](closed)
    with pytest.raises(SourceEarnsNothing):
        check("case_closed", closed, THE_MEMBER)
    with pytest.raises(SourceEarnsNothing):
        check("manual_commendation", case_in("rejected"), THE_MEMBER)


def test_a_mediation_earns_its_agreement_for_each_party_and_its_mediator() -> None:
    # given a dispute between a neighbour household and the household's spouse, still open
    open_one = mediation()
    # then an agreement award waits for the agreement, a conduct award does not
    with pytest.raises(SourceEarnsNothing) as err:
        check("mediation_agreement", open_one)
    assert err.value.details["state"] == "open"
    check("household_conduct", open_one)
    # when it ends in an agreement, it earns for the household of the person party, the other
    # party and the staff mediator
    done = agreed(mediation())
    check("mediation_agreement", done)
    check("mediation_agreement", done, AwardOwner(kind="household", owner_id=NEIGHBOUR))
    check("mediation_agreement", done, THE_MEMBER)


def test_a_pushed_award_waits_for_the_kind_its_trigger_names() -> None:
    assert waiting_kind("visit_recorded") == "visit"
    assert waiting_kind("case_closed") == "case"
    assert waiting_kind("mediation_agreement") == "mediation"
    assert waiting_kind("manual_commendation") == "source_event"
