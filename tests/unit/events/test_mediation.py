"""Stories of dispute mediation (矛盾纠纷调解): parties, sessions, conclusion, follow-up."""

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from events import (
    InvalidTransition,
    InvalidValue,
    Mediation,
    MediationSession,
    Mediator,
    Party,
)
from events.mediation_errors import NoSessionHeld, SessionIdTaken
from tests.unit.events.conftest import MEMBER, meta

ZHANG, LI, WITNESS = UUID(int=601), UUID(int=602), UUID(int=603)
CASE = UUID(int=700)
HELD = datetime(2026, 3, 3, 9, tzinfo=UTC)
PARTIES = (
    Party(kind="household", ref_id=ZHANG, role="applicant"),
    Party(kind="person", ref_id=LI, role="respondent"),
    Party(kind="person", ref_id=WITNESS, role="other"),
)
MEDIATORS = (
    Mediator(staff_id=MEMBER, name="王网格", kind="grid_member"),
    Mediator(staff_id=None, name=" 老刘 ", kind="wulao"),
)


def open_mediation(**overrides: Any) -> Mediation:
    fields: dict[str, Any] = {
        "mediation_id": uuid4(), "case_id": CASE, "parties": PARTIES, "mediators": MEDIATORS,
        "meta": meta(),
    }  # fmt: skip
    return Mediation.open(**(fields | overrides))


def session(m: Mediation, session_id: UUID | None = None) -> UUID:
    sid = session_id or uuid4()
    m.record_session(sid, HELD, "双方陈述宅基地边界争议", (ZHANG, LI, MEMBER), meta=meta())
    return sid


def test_open_and_record_sessions() -> None:
    m = open_mediation()
    assert (m.state, m.allowed_actions()) == ("open", ("record_session",))
    assert m.mediators[1].name == "老刘"
    sid = session(m)
    assert m.allowed_actions() == ("record_session", "conclude")
    session(m, sid)  # the phone re-sent the same session: no-op
    assert m.sessions == [
        MediationSession(
            session_id=sid,
            held_at=HELD,
            notes="双方陈述宅基地边界争议",
            attendees=(ZHANG, LI, MEMBER),
        )
    ]
    assert [type(e).__name__ for e in m.collect_events()] == ["Opened", "SessionRecorded"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"parties": PARTIES[:1]},  # no respondent
        {"parties": PARTIES[1:]},  # no applicant
        {"parties": (*PARTIES, Party(kind="person", ref_id=ZHANG, role="other"))},
        {"parties": (Party(kind="firm", ref_id=ZHANG, role="applicant"), PARTIES[1])},  # type: ignore[arg-type]
        {"mediators": ()},
        {"mediators": (Mediator(staff_id=None, name="老刘", kind="judge"),)},  # type: ignore[arg-type]
        {"mediators": (Mediator(staff_id=None, name=" ", kind="wulao"),)},
    ],
)
def test_opening_invariants(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidValue):
        open_mediation(**overrides)


def test_session_attendees_must_be_parties_or_mediators() -> None:
    m = open_mediation()
    with pytest.raises(InvalidValue):
        m.record_session(uuid4(), HELD, "x", (UUID(int=999),), meta=meta())
    with pytest.raises(InvalidValue):
        m.record_session(uuid4(), datetime(2026, 3, 3, 9), "x", (ZHANG,), meta=meta())


def test_conclude_with_an_agreement_then_follow_up() -> None:
    m = open_mediation()
    session(m)
    m.conclude(
        "agreement", agreement_summary="以界桩为准，各退半米", agreement_photo="d" * 64,
        follow_up_due=date(2026, 4, 3), meta=meta(),
    )  # fmt: skip
    assert (m.state, m.outcome, m.follow_up_due) == ("concluded", "agreement", date(2026, 4, 3))
    # no more sessions and no second conclusion
    for command, action in (
        (lambda: session(m), "record_session"),
        (lambda: m.conclude("failed", meta=meta()), "conclude"),
    ):
        with pytest.raises(InvalidTransition) as err:
            command()
        assert err.value.details == {
            "state": "concluded", "action": action, "allowed": ["record_follow_up"],
        }  # fmt: skip
    visit_id = uuid4()
    m.record_follow_up(visit_id, "协议已履行", meta=meta())
    m.record_follow_up(visit_id, "协议已履行", meta=meta())  # re-sent: no-op
    assert len(m.follow_ups) == 1


def test_a_follow_up_needs_a_conclusion() -> None:
    m = open_mediation()
    session(m)
    with pytest.raises(InvalidTransition) as err:
        m.record_follow_up(uuid4(), "x", meta=meta())
    assert err.value.details["allowed"] == ["record_session", "conclude"]


def test_a_referral_names_where_it_went() -> None:
    m = open_mediation(case_id=None)
    session(m)
    m.conclude("referred", referred_to="judicial_office", meta=meta())
    assert (m.outcome, m.referred_to, m.case_id) == ("referred", "judicial_office", None)


@pytest.mark.parametrize(
    ("outcome", "kwargs"),
    [
        ("referred", {}),
        ("failed", {"referred_to": "court"}),
        ("referred", {"referred_to": "mayor"}),
        ("agreement", {}),
        ("agreement", {"agreement_summary": "ok", "agreement_photo": "D" * 64}),
        ("failed", {"agreement_summary": "no"}),
        ("failed", {"agreement_photo": "d" * 64}),
        ("settled", {}),
    ],
)
def test_conclusion_invariants(outcome: str, kwargs: dict[str, Any]) -> None:
    m = open_mediation()
    session(m)
    with pytest.raises(InvalidValue):
        m.conclude(outcome, meta=meta(), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcome", "kwargs"),
    [
        ("agreement", {"agreement_summary": "以界桩为准"}),
        ("failed", {}),
        ("referred", {"referred_to": "police"}),
    ],
)
def test_no_mediation_is_concluded_before_a_session_is_held(
    outcome: str, kwargs: dict[str, Any]
) -> None:
    # given a mediation just opened, with no session recorded
    m = open_mediation()
    assert m.allowed_actions() == ("record_session",)
    # when it is concluded, whatever the outcome
    with pytest.raises(NoSessionHeld) as err:
        m.conclude(outcome, meta=meta(), **kwargs)  # type: ignore[arg-type]
    # then it is refused (40933, a state error) and stays open
    assert (err.value.errcode, isinstance(err.value, InvalidTransition)) == (40933, True)
    assert err.value.details == {
        "state": "open", "action": "conclude", "allowed": ["record_session"],
    }  # fmt: skip
    assert (m.state, m.outcome) == ("open", None)
    # when a session is held, it may be concluded
    session(m)
    m.conclude(outcome, meta=meta(), **kwargs)  # type: ignore[arg-type]
    assert (m.state, m.outcome) == ("concluded", outcome)


@pytest.mark.parametrize(
    ("attendees", "why"),
    [
        ((), "at least one party"),
        ((MEMBER,), "at least one party"),  # mediators alone are not a session
        ((ZHANG, UUID(int=999)), "parties or mediators"),  # a stranger
        ((ZHANG, UUID(int=0)), "parties or mediators"),  # no id stands for the volunteer
        ((ZHANG, LI, ZHANG), "listed twice"),
    ],
)
def test_who_a_session_may_list_as_attending(attendees: tuple[UUID, ...], why: str) -> None:
    # given a mediation with three parties, a staff mediator and a volunteer (五老)
    m = open_mediation()
    # when a session lists someone it may not, or nobody of the parties
    with pytest.raises(InvalidValue) as err:
        m.record_session(uuid4(), HELD, "x", attendees, meta=meta())
    # then it is refused on the attendees and nothing is recorded
    assert (err.value.errcode, err.value.details["field"]) == (40010, "attendees")
    assert why in err.value.errmsg
    assert m.sessions == []


def test_one_side_alone_is_a_session_and_mediators_are_optional() -> None:
    # given a mediation (背对背: the mediator meets each side separately)
    m = open_mediation()
    # when the respondent alone meets the mediator, then the applicant alone without one
    m.record_session(uuid4(), HELD, "单独听取被申请人意见", (LI, MEMBER), meta=meta())
    m.record_session(uuid4(), HELD, "申请人补充材料", (ZHANG,), meta=meta())
    # then both are sessions, listed as sent
    assert [s.attendees for s in m.sessions] == [(LI, MEMBER), (ZHANG,)]


def test_a_session_id_sent_again_is_answered_and_never_rewritten() -> None:
    # given a session recorded, and the mediation concluded after it
    m = open_mediation()
    sid = session(m)
    m.conclude("failed", meta=meta())
    # when the phone re-sends the same session (a lost response), then nothing changes
    session(m, sid)
    assert len(m.sessions) == 1
    # when the same session id comes with other attendees, then it is refused (40911)
    with pytest.raises(SessionIdTaken) as err:
        m.record_session(sid, HELD, "双方陈述宅基地边界争议", (ZHANG,), meta=meta())
    assert (err.value.errcode, err.value.details) == (40911, {"session_id": str(sid)})
    assert m.sessions[0].attendees == (ZHANG, LI, MEMBER)
    # and a new session after the conclusion is a state error
    with pytest.raises(InvalidTransition):
        session(m)
