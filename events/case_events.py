"""The ``Case``'s events and what each one does to its state — the replayable half.

``CaseRecord`` declares every event of the case loop and applies it; it validates nothing,
since appliers also run when the log is replayed. ``events.case.Case`` extends it with the
commands that decide whether an event may happen. (The split keeps both halves readable.)
Stored topics are ``events.case:Case.Reported`` and ``events.case_events:CaseRecord.<Name>``.

Every event carries ``meta``; the server time is the event's own ``timestamp``, which the
appliers that need it (stage entry, suspension) take as their ``timestamp`` argument —
eventsourcing fills it in. Every field is msgspec-encodable.
"""

from datetime import datetime, timedelta
from typing import Final, Literal, get_args
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, event

from events.case_states import STAGE_OF, CaseStatus, Stage
from events.meta import EventMeta
from events.sla import Pause
from events.visit import Gps

__all__ = ["REPORT_SOURCES", "CaseRecord", "ReportSource", "Reporter", "Satisfaction"]

ReportSource = Literal["grid_member", "resident", "hotline", "superior"]
REPORT_SOURCES: Final[tuple[str, ...]] = get_args(ReportSource)
At = datetime | None  # an applier's ``timestamp``: always given by eventsourcing


class Reporter(msgspec.Struct, frozen=True, kw_only=True):
    """Who reported a case. Staff sources carry ``staff_id``; residents and hotline callers a
    contact (personal information: projections mask it, the public board never shows it)."""

    source: ReportSource
    staff_id: UUID | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


class Satisfaction(msgspec.Struct, frozen=True, kw_only=True):
    """The 回访 result of one closure."""

    rating: int
    comment: str | None


class CaseRecord(Aggregate):
    """State of a case and the events that change it (see ``events.case.Case``)."""

    class Reported(Aggregate.Created):
        category: str
        title: str
        description: str
        location: str
        gps: Gps | None
        household_id: UUID | None
        reporter: Reporter
        photos: tuple[str, ...]
        level: int
        holder_unit_id: UUID
        meta: EventMeta

    class Accepted(Aggregate.Event):
        comment: str | None
        meta: EventMeta

    class Rejected(Aggregate.Event):
        reason: str
        meta: EventMeta

    class Registered(Aggregate.Event):
        comment: str | None
        meta: EventMeta

    class Dispatched(Aggregate.Event):
        assignee_staff_id: UUID | None
        assignee_unit_id: UUID | None
        instructions: str | None
        meta: EventMeta

    class SignedFor(Aggregate.Event):
        meta: EventMeta

    class Returned(Aggregate.Event):
        reason: str
        meta: EventMeta

    class Handled(Aggregate.Event):
        result: str
        before_photos: tuple[str, ...]
        after_photos: tuple[str, ...]
        meta: EventMeta

    class Verified(Aggregate.Event):
        comment: str | None
        meta: EventMeta

    class VerificationFailed(Aggregate.Event):
        reason: str
        meta: EventMeta

    class Closed(Aggregate.Event):
        summary: str | None
        meta: EventMeta

    class Reopened(Aggregate.Event):
        reason: str
        meta: EventMeta

    class ReportedUp(Aggregate.Event):
        to_unit_id: UUID
        to_level: int
        reason: str
        meta: EventMeta

    class Supervised(Aggregate.Event):
        instruction: str
        meta: EventMeta

    class DelayRequested(Aggregate.Event):
        days: int
        reason: str
        meta: EventMeta

    class DelayDecided(Aggregate.Event):
        approved: bool
        days: int
        comment: str | None
        meta: EventMeta

    class Suspended(Aggregate.Event):
        reason: str
        meta: EventMeta

    class Resumed(Aggregate.Event):
        meta: EventMeta

    class SatisfactionRecorded(Aggregate.Event):
        rating: int
        comment: str | None
        meta: EventMeta

    class SlaWarned(Aggregate.Event):
        stage: Stage
        stage_seq: int
        threshold: Literal["yellow"]
        meta: EventMeta

    class SlaBreached(Aggregate.Event):
        stage: Stage
        stage_seq: int
        meta: EventMeta

    class Escalated(Aggregate.Event):
        to_unit_id: UUID
        stage: Stage
        stage_seq: int
        meta: EventMeta

    @event(Reported)
    def __init__(
        self,
        id: UUID,  # eventsourcing passes the caller's id under this exact name
        category: str,
        title: str,
        description: str,
        location: str,
        gps: Gps | None,
        household_id: UUID | None,
        reporter: Reporter,
        photos: tuple[str, ...],
        level: int,
        holder_unit_id: UUID,
        meta: EventMeta,
        timestamp: At = None,
    ) -> None:
        self.category, self.title, self.description = category, title, description
        self.location, self.gps, self.household_id = location, gps, household_id
        self.reporter, self.photos = reporter, photos
        self.level, self.holder_unit_id = level, holder_unit_id
        self.suspended = False
        self.assignee_staff_id: UUID | None = None
        self.assignee_unit_id: UUID | None = None
        self.result: str | None = None
        self.before_photos: tuple[str, ...] = ()
        self.after_photos: tuple[str, ...] = ()
        self.satisfaction: Satisfaction | None = None
        self.last_reason: str | None = None
        self.supervisions = 0
        self.paused_total = timedelta(0)  # wall-clock time suspended over the case's life
        self.stage_seq = 0
        self._enter("reported", timestamp)

    def _enter(self, status: CaseStatus, at: At) -> None:
        """Move to ``status`` and start its stage's clock afresh (a new stage entry)."""
        assert at is not None  # eventsourcing passes every event's timestamp to its applier
        self.status: CaseStatus = status
        self.stage: Stage | None = STAGE_OF[status]
        self.stage_seq += 1
        self.stage_entered_at = at
        self.pauses: tuple[Pause, ...] = ()
        self.extension_days = 0
        self.pending_delay_days: int | None = None  # a pending request lapses with its stage
        self.sla_emitted: tuple[str, ...] = ()

    def _unassign(self, reason: str) -> None:
        self.assignee_staff_id = self.assignee_unit_id = None
        self.last_reason = reason

    @event(Accepted)
    def _accepted(self, comment: str | None, meta: EventMeta) -> None:
        self.status = "accepted"  # no new stage: 受理 and 立案 share the acceptance window

    @event(Rejected)
    def _rejected(self, reason: str, meta: EventMeta, timestamp: At = None) -> None:
        self.last_reason = reason
        self._enter("rejected", timestamp)

    @event(Registered)
    def _registered(self, comment: str | None, meta: EventMeta, timestamp: At = None) -> None:
        self._enter("registered", timestamp)

    @event(Dispatched)
    def _dispatched(
        self,
        assignee_staff_id: UUID | None,
        assignee_unit_id: UUID | None,
        instructions: str | None,
        meta: EventMeta,
        timestamp: At = None,
    ) -> None:
        self.assignee_staff_id, self.assignee_unit_id = assignee_staff_id, assignee_unit_id
        self._enter("dispatched", timestamp)

    @event(SignedFor)
    def _signed_for(self, meta: EventMeta, timestamp: At = None) -> None:
        self.assignee_staff_id = meta.actor_id  # a unit assignment now has a named handler
        self._enter("signed_for", timestamp)

    @event(Returned)
    def _returned(self, reason: str, meta: EventMeta, timestamp: At = None) -> None:
        self._unassign(reason)
        self._enter("registered", timestamp)

    @event(Handled)
    def _handled(
        self,
        result: str,
        before_photos: tuple[str, ...],
        after_photos: tuple[str, ...],
        meta: EventMeta,
        timestamp: At = None,
    ) -> None:
        self.result, self.before_photos, self.after_photos = result, before_photos, after_photos
        self._enter("handled", timestamp)

    @event(Verified)
    def _verified(self, comment: str | None, meta: EventMeta, timestamp: At = None) -> None:
        self._enter("verified", timestamp)

    @event(VerificationFailed)
    def _verification_failed(self, reason: str, meta: EventMeta, timestamp: At = None) -> None:
        self.last_reason = reason
        self._enter("signed_for", timestamp)

    @event(Closed)
    def _closed(self, summary: str | None, meta: EventMeta, timestamp: At = None) -> None:
        self._enter("closed", timestamp)

    @event(Reopened)
    def _reopened(self, reason: str, meta: EventMeta, timestamp: At = None) -> None:
        self._unassign(reason)
        self.satisfaction = None  # each closure gets its own 回访
        self._enter("registered", timestamp)

    @event(ReportedUp)
    def _reported_up(
        self, to_unit_id: UUID, to_level: int, reason: str, meta: EventMeta, timestamp: At = None
    ) -> None:
        self.holder_unit_id, self.level = to_unit_id, to_level
        self._unassign(reason)
        self._enter("registered", timestamp)

    @event(Supervised)
    def _supervised(self, instruction: str, meta: EventMeta) -> None:
        self.supervisions += 1

    @event(DelayRequested)
    def _delay_requested(self, days: int, reason: str, meta: EventMeta) -> None:
        self.pending_delay_days = days

    @event(DelayDecided)
    def _delay_decided(
        self, approved: bool, days: int, comment: str | None, meta: EventMeta
    ) -> None:
        self.pending_delay_days = None
        if approved:
            self.extension_days += days

    @event(Suspended)
    def _suspended(self, reason: str, meta: EventMeta, timestamp: At = None) -> None:
        assert timestamp is not None
        self.suspended = True
        self.pauses = (*self.pauses, Pause(start=timestamp))

    @event(Resumed)
    def _resumed(self, meta: EventMeta, timestamp: At = None) -> None:
        assert timestamp is not None
        start = self.pauses[-1].start
        self.suspended = False
        self.pauses = (*self.pauses[:-1], Pause(start=start, end=timestamp))
        self.paused_total += timestamp - start

    @event(SatisfactionRecorded)
    def _satisfaction_recorded(self, rating: int, comment: str | None, meta: EventMeta) -> None:
        self.satisfaction = Satisfaction(rating=rating, comment=comment)

    @event(SlaWarned)
    def _sla_warned(
        self, stage: Stage, stage_seq: int, threshold: Literal["yellow"], meta: EventMeta
    ) -> None:
        self.sla_emitted = (*self.sla_emitted, threshold)

    @event(SlaBreached)
    def _sla_breached(self, stage: Stage, stage_seq: int, meta: EventMeta) -> None:
        self.sla_emitted = (*self.sla_emitted, "red")

    @event(Escalated)
    def _escalated(self, to_unit_id: UUID, stage: Stage, stage_seq: int, meta: EventMeta) -> None:
        self.sla_emitted = (*self.sla_emitted, "escalated")
