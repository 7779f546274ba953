"""Sync receipts: what the server did with each event a phone pushed (DESIGN §5).

A receipt is saved in the *same* ``save()`` as the event it acknowledges, so one transaction
writes both or neither. Its id derives from the phone's event id and its first event is unique
in the store, which makes a re-pushed event impossible to record twice: the second insert
fails and rolls back with everything saved alongside it. The receipt keeps the canonical body
and its hash (a re-send with other content is a recorded conflict, never an overwrite), the
device's clock offset (recorded, never used for order) and, for held events, what they wait
for, so they can be applied later by the server or decided by a supervisor.

``waiting_for`` is what the event waits for *now*: set when it is deferred, replaced by
``WaitChanged`` when one dependency arrives and another is still missing (or none is left and
a person must decide), and emptied when the event leaves the held states (applied or refused).
A receipt that is accepted or rejected never waits for anything.
"""

from datetime import datetime
from typing import Any, Final, Literal, Self
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from events.errors import InvalidTransition

__all__ = ["HELD", "ReceiptStatus", "SyncReceipt"]

ReceiptStatus = Literal["accepted", "rejected", "deferred", "review", "conflict"]
HELD: Final = ("deferred", "review")
_NAMESPACE: Final = uuid5(NAMESPACE_URL, "gridledger:sync-receipt")


class SyncReceipt(Aggregate):
    """The server's answer to one pushed event, and its fate while held."""

    class Received(Aggregate.Created):
        event_id: UUID
        staff_id: UUID
        role: str
        scope_unit_id: UUID
        device_id: str
        device_seq: int
        event_type: str
        captured_at: datetime
        clock_offset_ms: int
        body: str
        body_sha256: str
        unit_id: UUID | None
        status: ReceiptStatus
        errcode: int | None
        reason: str | None
        waiting_for: tuple[str, ...]

    class Applied(Aggregate.Event):
        """A held event was applied (its dependency arrived, or a reviewer accepted it)."""

        event_id: UUID
        staff_id: UUID
        device_id: str
        from_status: str
        decided_by: UUID | None

    class Refused(Aggregate.Event):
        """A held event was rejected by a reviewer."""

        event_id: UUID
        staff_id: UUID
        device_id: str
        from_status: str
        errcode: int
        reason: str
        decided_by: UUID | None

    class Flagged(Aggregate.Event):
        """A deferred event waited past the horizon and now needs a reviewer."""

        event_id: UUID
        staff_id: UUID
        device_id: str
        errcode: int
        reason: str

    class WaitChanged(Aggregate.Event):
        """A held event now waits for something else (or, empty, for nothing but a person)."""

        event_id: UUID
        staff_id: UUID
        device_id: str
        waiting_for: tuple[str, ...]
        errcode: int
        reason: str

    class ConflictRecorded(Aggregate.Event):
        """The same event id came again with other content; kept beside the first."""

        event_id: UUID
        staff_id: UUID
        device_id: str
        body: str
        body_sha256: str

    @staticmethod
    def create_id(event_id: UUID) -> UUID:
        """Not the event id itself: a visit or case already uses that id for its aggregate."""
        return uuid5(_NAMESPACE, str(event_id))

    @classmethod
    def receive(
        cls,
        *,
        event_id: UUID,
        staff_id: UUID,
        role: str,
        scope_unit_id: UUID,
        device_id: str,
        device_seq: int,
        event_type: str,
        captured_at: datetime,
        clock_offset_ms: int,
        body: str,
        body_sha256: str,
        unit_id: UUID | None,
        status: ReceiptStatus,
        errcode: int | None = None,
        reason: str | None = None,
        waiting_for: tuple[str, ...] = (),
    ) -> Self:
        return cls(
            id=cls.create_id(event_id),
            event_id=event_id, staff_id=staff_id, role=role, scope_unit_id=scope_unit_id,
            device_id=device_id, device_seq=device_seq, event_type=event_type,
            captured_at=captured_at, clock_offset_ms=clock_offset_ms, body=body,
            body_sha256=body_sha256, unit_id=unit_id, status=status, errcode=errcode,
            reason=reason, waiting_for=waiting_for,
        )  # fmt: skip

    @event(Received)
    def __init__(
        self,
        id: UUID,  # eventsourcing passes the caller's id under this exact name
        event_id: UUID,
        staff_id: UUID,
        role: str,
        scope_unit_id: UUID,
        device_id: str,
        device_seq: int,
        event_type: str,
        captured_at: datetime,
        clock_offset_ms: int,
        body: str,
        body_sha256: str,
        unit_id: UUID | None,
        status: ReceiptStatus,
        errcode: int | None,
        reason: str | None,
        waiting_for: tuple[str, ...],
    ) -> None:
        self.event_id, self.staff_id, self.role = event_id, staff_id, role
        self.scope_unit_id, self.device_id, self.device_seq = scope_unit_id, device_id, device_seq
        self.event_type, self.captured_at = event_type, captured_at
        self.clock_offset_ms, self.body, self.body_sha256 = clock_offset_ms, body, body_sha256
        self.unit_id, self.status, self.errcode = unit_id, status, errcode
        self.reason, self.waiting_for = reason, waiting_for
        self.conflict_hashes: list[str] = []
        self.decided_by: UUID | None = None

    # -- commands ----------------------------------------------------------------------------

    def apply_held(self, *, decided_by: UUID | None) -> None:
        self._require_held("apply")
        self._applied(**self._who(), from_status=self.status, decided_by=decided_by)

    def refuse(self, *, errcode: int, reason: str, decided_by: UUID | None) -> None:
        self._require_held("reject")
        self._refused(
            **self._who(), from_status=self.status, errcode=errcode, reason=reason,
            decided_by=decided_by,
        )  # fmt: skip

    def flag(self, *, errcode: int, reason: str) -> None:
        if self.status != "deferred":
            raise InvalidTransition("only a deferred event can be flagged", state=self.status)
        self._flagged(**self._who(), errcode=errcode, reason=reason)

    def wait_for(self, waiting_for: tuple[str, ...], *, errcode: int, reason: str) -> None:
        """Record what the held event waits for now (and why); the same as before is a no-op."""
        self._require_held("wait")
        if (tuple(waiting_for), errcode, reason) != (self.waiting_for, self.errcode, self.reason):
            self._wait_changed(
                **self._who(), waiting_for=tuple(waiting_for), errcode=errcode, reason=reason
            )

    def record_conflict(self, *, body: str, body_sha256: str, device_id: str) -> None:
        """Keep another content sent under this id (once per distinct content)."""
        if body_sha256 != self.body_sha256 and body_sha256 not in self.conflict_hashes:
            who = {**self._who(), "device_id": device_id}
            self._conflict(**who, body=body, body_sha256=body_sha256)

    def _who(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "staff_id": self.staff_id, "device_id": self.device_id}

    def _require_held(self, action: str) -> None:
        if self.status not in HELD:
            raise InvalidTransition(
                "the pushed event is not held any more", state=self.status, action=action
            )

    # -- appliers ----------------------------------------------------------------------------

    @event(Applied)
    def _applied(
        self,
        event_id: UUID,
        staff_id: UUID,
        device_id: str,
        from_status: str,
        decided_by: UUID | None,
    ) -> None:
        self.status, self.errcode, self.reason = "accepted", None, None
        self.decided_by, self.waiting_for = decided_by, ()

    @event(Refused)
    def _refused(
        self,
        event_id: UUID,
        staff_id: UUID,
        device_id: str,
        from_status: str,
        errcode: int,
        reason: str,
        decided_by: UUID | None,
    ) -> None:
        self.status, self.errcode, self.reason = "rejected", errcode, reason
        self.decided_by, self.waiting_for = decided_by, ()

    @event(Flagged)
    def _flagged(
        self, event_id: UUID, staff_id: UUID, device_id: str, errcode: int, reason: str
    ) -> None:
        self.status, self.errcode, self.reason = "review", errcode, reason

    @event(WaitChanged)
    def _wait_changed(
        self,
        event_id: UUID,
        staff_id: UUID,
        device_id: str,
        waiting_for: tuple[str, ...],
        errcode: int,
        reason: str,
    ) -> None:
        self.waiting_for, self.errcode, self.reason = waiting_for, errcode, reason

    @event(ConflictRecorded)
    def _conflict(
        self, event_id: UUID, staff_id: UUID, device_id: str, body: str, body_sha256: str
    ) -> None:
        self.conflict_hashes.append(body_sha256)
