"""The case (事件) aggregate: a reported problem's closed loop (DESIGN §2, §4).

The phone gives the case its id, so re-sending a report is idempotent at the store. The loop
is the table in :mod:`events.case_states`; every command first asks that table (plus a few
guards on the case's own data) whether it may run, and a refusal is an
:class:`~events.errors.InvalidTransition` naming the state and the allowed actions.

SLA bookkeeping (stage, ``stage_seq``, ``stage_entered_at``, pauses, extension, thresholds
already recorded) uses event timestamps only, i.e. server time; :meth:`Case.sla_clock` hands
it to :mod:`events.sla`. Scheduler commands name the stage entry they were computed for, so
a late or repeated one is a no-op instead of a wrong warning on a newer entry.
"""

from typing import Final, Self
from uuid import UUID

import msgspec

from events.case_errors import NotAssignee
from events.case_events import REPORT_SOURCES, CaseRecord, Reporter
from events.case_states import CaseAction, CaseState, Stage, actions_in
from events.errors import InvalidTransition, InvalidValue
from events.meta import EventMeta
from events.sla import SlaClock
from events.validation import validate_text, validate_work_phone
from events.visit import Gps, validate_gps, validate_photos

__all__ = ["MAX_DELAY_DAYS", "Case", "validate_reporter"]

MAX_DELAY_DAYS: Final = 30
_REASON: Final = 500
_TEXT: Final = 2000


def _text(value: str | None, field: str, max_len: int = _TEXT) -> str | None:
    """Optional free text: blank means absent."""
    if value is None or not value.strip():
        return None
    return validate_text(value, field=field, max_len=max_len)


def _reason(value: str, field: str = "reason") -> str:
    return validate_text(value, field=field, max_len=_REASON)


def validate_reporter(reporter: Reporter) -> Reporter:
    """Staff sources need ``staff_id`` (contact dropped); others need a name or a phone."""
    if reporter.source not in REPORT_SOURCES:
        raise InvalidValue("unknown report source", field="reporter.source")
    if reporter.source in ("grid_member", "superior"):
        if reporter.staff_id is None:
            raise InvalidValue("a staff report needs staff_id", field="reporter.staff_id")
        return Reporter(source=reporter.source, staff_id=reporter.staff_id)
    name = _text(reporter.contact_name, "reporter.contact_name", 64)
    phone = reporter.contact_phone
    phone = validate_work_phone(phone) if phone and phone.strip() else None
    if name is None and phone is None:
        raise InvalidValue("a resident or hotline report needs a contact", field="reporter")
    return msgspec.structs.replace(reporter, contact_name=name, contact_phone=phone)


class Case(CaseRecord):
    """One reported problem from report to closure, with its SLA clock."""

    @classmethod
    def report(
        cls,
        *,
        case_id: UUID,
        category: str,
        title: str,
        description: str,
        location: str,
        reporter: Reporter,
        level: int,
        holder_unit_id: UUID,
        meta: EventMeta,
        gps: Gps | None = None,
        household_id: UUID | None = None,
        photos: tuple[str, ...] = (),
    ) -> Self:
        """上报. ``category`` is a reference-data code the caller has already checked."""
        if level not in (1, 2, 3, 4):
            raise InvalidValue("level must be 1..4", field="level")
        return cls(
            id=case_id,
            category=validate_text(category, field="category", max_len=32),
            title=validate_text(title, field="title", max_len=100),
            description=validate_text(description, field="description", max_len=_TEXT),
            location=validate_text(location, field="location", max_len=200),
            gps=validate_gps(gps),
            household_id=household_id,
            reporter=validate_reporter(reporter),
            photos=validate_photos(photos),
            level=level,
            holder_unit_id=holder_unit_id,
            meta=meta,
        )

    # -- queries ---------------------------------------------------------------------------

    @property
    def state(self) -> CaseState:
        """The lifecycle state, or ``suspended`` while the overlay hides it."""
        return "suspended" if self.suspended else self.status

    def allowed_actions(self) -> tuple[CaseAction, ...]:
        """Actions the table allows now, narrowed by guards on this case's data."""
        return tuple(a for a in actions_in(self.state) if self._guard(a))

    def _guard(self, action: CaseAction) -> bool:
        if action == "request_delay":
            return self.pending_delay_days is None
        if action == "decide_delay":
            return self.pending_delay_days is not None
        if action == "report_up":
            return self.level > 1  # a town (level 1) is the top of the tree
        if action == "record_satisfaction":
            return self.satisfaction is None
        return True

    def sla_clock(self) -> SlaClock:
        return SlaClock(
            case_id=self.id, level=self.level, category=self.category, stage=self.stage,
            stage_seq=self.stage_seq, stage_entered_at=self.stage_entered_at,
            pauses=self.pauses, extension_days=self.extension_days, emitted=self.sla_emitted,
        )  # fmt: skip

    # -- lifecycle commands ----------------------------------------------------------------

    def accept(self, *, meta: EventMeta, comment: str | None = None) -> None:
        """受理."""
        self._require("accept")
        self._accepted(comment=_text(comment, "comment"), meta=meta)

    def reject(self, reason: str, *, meta: EventMeta) -> None:
        """不予受理; final."""
        self._require("reject")
        self._rejected(reason=_reason(reason), meta=meta)

    def register(self, *, meta: EventMeta, comment: str | None = None) -> None:
        """立案."""
        self._require("register")
        self._registered(comment=_text(comment, "comment"), meta=meta)

    def dispatch(
        self,
        *,
        meta: EventMeta,
        staff_id: UUID | None = None,
        unit_id: UUID | None = None,
        instructions: str | None = None,
    ) -> None:
        """派遣/交办 to exactly one staff member or grid unit."""
        self._require("dispatch")
        if (staff_id is None) == (unit_id is None):
            raise InvalidValue("dispatch to exactly one of staff_id, unit_id", field="assignee")
        self._dispatched(
            assignee_staff_id=staff_id, assignee_unit_id=unit_id,
            instructions=_text(instructions, "instructions"), meta=meta,
        )  # fmt: skip

    def sign_for(self, *, meta: EventMeta) -> None:
        """签收 by the assignee; for a unit assignee the backend checks the signer's scope."""
        self._require("sign_for")
        staff = self.assignee_staff_id
        if meta.actor_id is None or (staff is not None and meta.actor_id != staff):
            raise NotAssignee("only the assignee may sign for this case", case_id=str(self.id))
        self._signed_for(meta=meta)

    def return_(self, reason: str, *, meta: EventMeta) -> None:
        """退回: the assignee sends the case back to be dispatched again."""
        self._require("return")
        self._returned(reason=_reason(reason), meta=meta)

    def handle(
        self,
        result: str,
        *,
        meta: EventMeta,
        before_photos: tuple[str, ...] = (),
        after_photos: tuple[str, ...] = (),
    ) -> None:
        """处置 with its result and before/after photos."""
        self._require("handle")
        self._handled(
            result=validate_text(result, field="result", max_len=_TEXT),
            before_photos=validate_photos(before_photos, field="before_photos"),
            after_photos=validate_photos(after_photos, field="after_photos"), meta=meta,
        )  # fmt: skip

    def verify(self, *, meta: EventMeta, comment: str | None = None) -> None:
        """核查 passed."""
        self._require("verify")
        self._verified(comment=_text(comment, "comment"), meta=meta)

    def fail_verification(self, reason: str, *, meta: EventMeta) -> None:
        """核查 failed: back to the assignee for handling, with a fresh handling clock."""
        self._require("fail_verification")
        self._verification_failed(reason=_reason(reason), meta=meta)

    def close(self, *, meta: EventMeta, summary: str | None = None) -> None:
        """结案/销号."""
        self._require("close")
        self._closed(summary=_text(summary, "summary"), meta=meta)

    def reopen(self, reason: str, *, meta: EventMeta) -> None:
        """Reopen a closed case; it is registered again and waits for dispatch."""
        self._require("reopen")
        self._reopened(reason=_reason(reason), meta=meta)

    def report_up(self, to_unit_id: UUID, to_level: int, reason: str, *, meta: EventMeta) -> None:
        """上报 to the parent unit (one level up), where it is registered afresh."""
        self._require("report_up")
        if to_level != self.level - 1 or to_unit_id == self.holder_unit_id:
            raise InvalidValue("report up goes to the parent unit, one level up", field="to_level")
        self._reported_up(
            to_unit_id=to_unit_id, to_level=to_level, reason=_reason(reason), meta=meta
        )

    # -- side commands ---------------------------------------------------------------------

    def supervise(self, instruction: str, *, meta: EventMeta) -> None:
        """督办: a recorded instruction; the state does not change."""
        self._require("supervise")
        self._supervised(instruction=_reason(instruction, "instruction"), meta=meta)

    def request_delay(self, days: int, reason: str, *, meta: EventMeta) -> None:
        """延期申请 for the current stage; one pending request at a time."""
        self._require("request_delay")
        if isinstance(days, bool) or not 1 <= days <= MAX_DELAY_DAYS:
            raise InvalidValue(f"days must be 1..{MAX_DELAY_DAYS}", field="days")
        self._delay_requested(days=days, reason=_reason(reason), meta=meta)

    def decide_delay(self, approve: bool, *, meta: EventMeta, comment: str | None = None) -> None:
        """Approve (the stage deadline moves by the requested working days) or reject."""
        self._require("decide_delay")
        days = self.pending_delay_days or 0
        self._delay_decided(
            approved=approve, days=days, comment=_text(comment, "comment"), meta=meta
        )

    def suspend(self, reason: str, *, meta: EventMeta) -> None:
        """挂起: the SLA clock stops until :meth:`resume`."""
        self._require("suspend")
        self._suspended(reason=_reason(reason), meta=meta)

    def resume(self, *, meta: EventMeta) -> None:
        self._require("resume")
        self._resumed(meta=meta)

    def record_satisfaction(
        self, rating: int, *, meta: EventMeta, comment: str | None = None
    ) -> None:
        """回访满意度 after closure, once per closure."""
        self._require("record_satisfaction")
        if isinstance(rating, bool) or rating not in (1, 2, 3, 4, 5):
            raise InvalidValue("rating must be 1..5", field="rating")
        self._satisfaction_recorded(rating=rating, comment=_text(comment, "comment"), meta=meta)

    # -- scheduler commands (idempotent per stage entry; return whether an event was added) --

    def warn_sla(self, stage: Stage, stage_seq: int, *, meta: EventMeta) -> bool:
        if not self._clock_due("warn_sla", "yellow", stage, stage_seq):
            return False
        self._sla_warned(stage=stage, stage_seq=stage_seq, threshold="yellow", meta=meta)
        return True

    def breach_sla(self, stage: Stage, stage_seq: int, *, meta: EventMeta) -> bool:
        if not self._clock_due("breach_sla", "red", stage, stage_seq):
            return False
        self._sla_breached(stage=stage, stage_seq=stage_seq, meta=meta)
        return True

    def escalate(self, to_unit_id: UUID, stage: Stage, stage_seq: int, *, meta: EventMeta) -> bool:
        """Record an overdue escalation to a higher unit; the holder does not change."""
        if not self._clock_due("escalate", "escalated", stage, stage_seq):
            return False
        self._escalated(to_unit_id=to_unit_id, stage=stage, stage_seq=stage_seq, meta=meta)
        return True

    # -- command helpers -------------------------------------------------------------------

    def _require(self, action: CaseAction) -> None:
        allowed = self.allowed_actions()
        if action not in allowed:
            raise InvalidTransition(
                f"cannot {action} a case that is {self.state}",
                state=self.state, action=action, allowed=list(allowed),
            )  # fmt: skip

    def _clock_due(self, action: CaseAction, key: str, stage: Stage, stage_seq: int) -> bool:
        # A stale entry (the case moved on since the scheduler looked) is not an error.
        if (stage, stage_seq) != (self.stage, self.stage_seq):
            return False
        self._require(action)
        return key not in self.sla_emitted
