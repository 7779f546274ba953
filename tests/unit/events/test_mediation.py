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
    assert (m.state, m.allowed_actions()) == ("open", ("record_session", "conclude"))
    assert m.mediators[1].name == "老刘"
    sid = session(m)
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
    with pytest.raises(InvalidTransition) as err:
        open_mediation().record_follow_up(uuid4(), "x", meta=meta())
    assert err.value.details["allowed"] == ["record_session", "conclude"]


def test_a_referral_names_where_it_went() -> None:
    m = open_mediation(case_id=None)
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
    with pytest.raises(InvalidValue):
        open_mediation().conclude(outcome, meta=meta(), **kwargs)  # type: ignore[arg-type]
