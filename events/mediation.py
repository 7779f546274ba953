"""Dispute mediation (矛盾纠纷调解, DESIGN §2).

A mediation is opened on the phone (its id is the aggregate id, so re-sending is idempotent)
with its parties and mediators, records sessions, is concluded exactly once — agreement
(调解协议), failed, or referred on to 司法所 / 法院 / 信访 / 公安 — and is followed up by
visits checking that the agreement holds. Invariants: at least one applicant and one
respondent; no session after the conclusion; **no conclusion before a session is held**
(``NoSessionHeld``, 40933: a dispute is mediated by meeting, even one referred on at once);
a referral names where it went, and only a referral does.

Who a session's ``attendees`` may name (errcode 40010, ``field: attendees`` unless said):

* each entry is the ``ref_id`` of a party (a household party counts as present whoever came
  for it; a person party is that person) or the ``staff_id`` of a mediator with a staff
  record — nobody else, not the persons of a household party one by one;
* a volunteer mediator without a staff record (五老) has no id and is not listed: write their
  presence in the notes;
* at least one *party* attends (a meeting of mediators alone is not a session; one side
  alone is, 背对背调解), mediators are optional;
* nobody twice; so a session lists at most every party and staff mediator (20 + 10 = 30;
  the HTTP body allows 40 entries and refuses more with 40000);
* ``held_at`` carries a time zone; notes are 1..2000 characters after trimming.

A session is identified by its ``session_id``: sending it again with the same content is a
no-op (also after the conclusion, so a phone retrying a lost response is answered), with other
content it is refused (``SessionIdTaken``, 40911) and the first one stands.
"""

from datetime import date, datetime
from typing import Final, Literal, Self, get_args
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, event

from events.errors import InvalidTransition, InvalidValue
from events.mediation_errors import NoSessionHeld, SessionIdTaken
from events.meta import EventMeta
from events.validation import ensure_aware, validate_text
from events.visit import validate_photo

__all__ = [
    "FollowUp",
    "Mediation",
    "MediationOutcome",
    "MediationSession",
    "Mediator",
    "MediatorKind",
    "NoSessionHeld",
    "Party",
    "PartyKind",
    "PartyRole",
    "ReferredTo",
    "SessionIdTaken",
]

PartyKind = Literal["person", "household"]
PartyRole = Literal["applicant", "respondent", "other"]
MediatorKind = Literal["wulao", "mediator", "grid_member"]  # 五老, 调解员, 网格员
MediationOutcome = Literal["agreement", "failed", "referred"]
ReferredTo = Literal[
    "judicial_office", "court", "petition_office", "police"
]  # 司法所 法院 信访 公安
MediationState = Literal["open", "concluded"]
_ALLOWED: Final[dict[MediationState, tuple[str, ...]]] = {
    "open": ("record_session", "conclude"),
    "concluded": ("record_follow_up",),
}
_TEXT: Final = 2000


class Party(msgspec.Struct, frozen=True, kw_only=True):
    """A party by reference to a person or household file (no personal data copied here)."""

    kind: PartyKind
    ref_id: UUID
    role: PartyRole


class Mediator(msgspec.Struct, frozen=True, kw_only=True):
    """A mediator; ``staff_id`` is None for a volunteer without a staff record (五老)."""

    staff_id: UUID | None
    name: str
    kind: MediatorKind


class MediationSession(msgspec.Struct, frozen=True, kw_only=True):
    session_id: UUID
    held_at: datetime
    notes: str
    attendees: tuple[UUID, ...]


class FollowUp(msgspec.Struct, frozen=True, kw_only=True):
    visit_id: UUID
    result: str


def _choice(value: str, choices: tuple[str, ...], field: str) -> None:
    if value not in choices:
        raise InvalidValue(f"unknown {field}", field=field, value=value)


def _validate_parties(parties: tuple[Party, ...]) -> tuple[Party, ...]:
    for party in parties:
        _choice(party.kind, get_args(PartyKind), "party.kind")
        _choice(party.role, get_args(PartyRole), "party.role")
    if len({p.ref_id for p in parties}) != len(parties):
        raise InvalidValue("a party is listed twice", field="parties")
    roles = {p.role for p in parties}
    if not {"applicant", "respondent"} <= roles:
        raise InvalidValue("need at least one applicant and one respondent", field="parties")
    return parties


def _validate_mediators(mediators: tuple[Mediator, ...]) -> tuple[Mediator, ...]:
    if not mediators:
        raise InvalidValue("need at least one mediator", field="mediators")
    for m in mediators:
        _choice(m.kind, get_args(MediatorKind), "mediator.kind")
    return tuple(
        msgspec.structs.replace(m, name=validate_text(m.name, field="mediator.name", max_len=64))
        for m in mediators
    )


class Mediation(Aggregate):
    """One dispute's mediation, from opening to follow-up."""

    class Opened(Aggregate.Created):
        case_id: UUID | None
        parties: tuple[Party, ...]
        mediators: tuple[Mediator, ...]
        meta: EventMeta

    class SessionRecorded(Aggregate.Event):
        session_id: UUID
        held_at: datetime
        notes: str
        attendees: tuple[UUID, ...]
        meta: EventMeta

    class Concluded(Aggregate.Event):
        outcome: MediationOutcome
        referred_to: ReferredTo | None
        agreement_summary: str | None
        agreement_photo: str | None
        follow_up_due: date | None
        meta: EventMeta

    class FollowUpRecorded(Aggregate.Event):
        visit_id: UUID
        result: str
        meta: EventMeta

    @classmethod
    def open(
        cls,
        *,
        mediation_id: UUID,
        case_id: UUID | None,
        parties: tuple[Party, ...],
        mediators: tuple[Mediator, ...],
        meta: EventMeta,
    ) -> Self:
        """Open under the phone's id; ``case_id`` is None for on-the-spot mediation."""
        return cls(
            id=mediation_id,
            case_id=case_id,
            parties=_validate_parties(parties),
            mediators=_validate_mediators(mediators),
            meta=meta,
        )

    @event(Opened)
    def __init__(
        self,
        id: UUID,  # eventsourcing passes the caller's id under this exact name
        case_id: UUID | None,
        parties: tuple[Party, ...],
        mediators: tuple[Mediator, ...],
        meta: EventMeta,
    ) -> None:
        self.case_id, self.parties, self.mediators = case_id, parties, mediators
        self.sessions: list[MediationSession] = []
        self.follow_ups: list[FollowUp] = []
        self.state: MediationState = "open"
        self.outcome: MediationOutcome | None = None
        self.referred_to: ReferredTo | None = None
        self.agreement_summary: str | None = None
        self.agreement_photo: str | None = None
        self.follow_up_due: date | None = None

    def allowed_actions(self) -> tuple[str, ...]:
        if self.state == "open" and not self.sessions:
            return ("record_session",)  # concluding needs a session held first
        return _ALLOWED[self.state]

    # -- commands --------------------------------------------------------------------------

    def record_session(
        self,
        session_id: UUID,
        held_at: datetime,
        notes: str,
        attendees: tuple[UUID, ...],
        *,
        meta: EventMeta,
    ) -> None:
        """Record a session (the attendee rules are in the module docstring).

        Re-sending the same ``session_id`` with the same content is a no-op, even after the
        conclusion; with other content it is refused (``SessionIdTaken``).
        """
        earlier = next((s for s in self.sessions if s.session_id == session_id), None)
        if earlier is None:
            self._require("record_session")
        session = MediationSession(
            session_id=session_id,
            held_at=ensure_aware(held_at, field="held_at"),
            notes=validate_text(notes, field="notes", max_len=_TEXT),
            attendees=self._check_attendees(tuple(attendees)),
        )
        if earlier is None:
            self._session_recorded(**msgspec.structs.asdict(session), meta=meta)
        elif earlier != session:
            raise SessionIdTaken(
                "session id already used with other content", session_id=str(session_id)
            )

    def _check_attendees(self, attendees: tuple[UUID, ...]) -> tuple[UUID, ...]:
        parties = {p.ref_id for p in self.parties}
        staff = {m.staff_id for m in self.mediators if m.staff_id is not None}
        if not set(attendees) <= parties | staff:
            raise InvalidValue(
                "attendees must be parties or mediators with a staff record", field="attendees"
            )
        if len(set(attendees)) != len(attendees):
            raise InvalidValue("an attendee is listed twice", field="attendees")
        if not parties & set(attendees):
            raise InvalidValue("at least one party attends a session", field="attendees")
        return attendees

    def conclude(
        self,
        outcome: MediationOutcome,
        *,
        meta: EventMeta,
        referred_to: ReferredTo | None = None,
        agreement_summary: str | None = None,
        agreement_photo: str | None = None,
        follow_up_due: date | None = None,
    ) -> None:
        """Conclude once, after a session. An agreement needs its summary; only a referral
        names a target."""
        if self.state == "open" and not self.sessions:
            raise NoSessionHeld(
                "record a session before concluding the mediation",
                state=self.state, action="conclude", allowed=list(self.allowed_actions()),
            )  # fmt: skip
        self._require("conclude")
        _choice(outcome, get_args(MediationOutcome), "outcome")
        if (outcome == "referred") != (referred_to is not None):
            raise InvalidValue("referred_to is required iff the outcome is referred")
        if referred_to is not None:
            _choice(referred_to, get_args(ReferredTo), "referred_to")
        summary = _agreement_summary(outcome, agreement_summary, agreement_photo)
        self._concluded(
            outcome=outcome,
            referred_to=referred_to,
            agreement_summary=summary,
            agreement_photo=None if agreement_photo is None else validate_photo(agreement_photo),
            follow_up_due=follow_up_due,
            meta=meta,
        )

    def record_follow_up(self, visit_id: UUID, result: str, *, meta: EventMeta) -> None:
        """A follow-up visit's finding; the same visit twice is a no-op."""
        self._require("record_follow_up")
        if any(f.visit_id == visit_id for f in self.follow_ups):
            return
        result = validate_text(result, field="result", max_len=_TEXT)
        self._follow_up_recorded(visit_id=visit_id, result=result, meta=meta)

    def _require(self, action: str) -> None:
        if action not in self.allowed_actions():
            raise InvalidTransition(
                f"cannot {action} a mediation that is {self.state}",
                state=self.state,
                action=action,
                allowed=list(self.allowed_actions()),
            )

    # -- event appliers (also run on replay: no validation here) ----------------------------

    @event(SessionRecorded)
    def _session_recorded(
        self,
        session_id: UUID,
        held_at: datetime,
        notes: str,
        attendees: tuple[UUID, ...],
        meta: EventMeta,
    ) -> None:
        self.sessions.append(
            MediationSession(
                session_id=session_id, held_at=held_at, notes=notes, attendees=attendees
            )
        )

    @event(Concluded)
    def _concluded(
        self,
        outcome: MediationOutcome,
        referred_to: ReferredTo | None,
        agreement_summary: str | None,
        agreement_photo: str | None,
        follow_up_due: date | None,
        meta: EventMeta,
    ) -> None:
        self.state = "concluded"
        self.outcome, self.referred_to = outcome, referred_to
        self.agreement_summary, self.agreement_photo = agreement_summary, agreement_photo
        self.follow_up_due = follow_up_due

    @event(FollowUpRecorded)
    def _follow_up_recorded(self, visit_id: UUID, result: str, meta: EventMeta) -> None:
        self.follow_ups.append(FollowUp(visit_id=visit_id, result=result))


def _agreement_summary(
    outcome: MediationOutcome, summary: str | None, photo: str | None
) -> str | None:
    """The summary and the signed agreement's photo belong to an agreement only."""
    if outcome != "agreement":
        if summary is not None or photo is not None:
            raise InvalidValue("only an agreement has a summary or photo", field="outcome")
        return None
    if summary is None:
        raise InvalidValue("an agreement needs its summary", field="agreement_summary")
    return validate_text(summary, field="agreement_summary", max_len=_TEXT)
