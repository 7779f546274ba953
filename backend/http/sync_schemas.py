"""Wire types of offline sync (docs/sync-protocol.md is the contract the phone SDK follows).

The push envelope is strict (a malformed envelope is a protocol error), but each event's
``payload`` is decoded per item against its type's schema, so one bad event is answered with
its own ``rejected`` result and never fails the batch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from backend.http.wire import RequestBody, check_storable_time

__all__ = [
    "PROTOCOL_VERSION",
    "DeviceStatusPage",
    "DeviceStatusView",
    "MediaRef",
    "PullRequest",
    "PullResponse",
    "PushEvent",
    "PushRequest",
    "PushResponse",
    "PushResult",
    "RejectReview",
    "ReviewItemView",
    "ReviewPage",
    "ScopeChanges",
    "SyncOp",
    "WaitingFor",
]

PROTOCOL_VERSION = 1

DeviceId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Sha256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
EventType = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]
PushStatus = Literal["accepted", "duplicate", "rejected", "deferred", "conflict", "review"]


class MediaRef(RequestBody):
    """A photo the event refers to; the bytes go to ``POST /v1/media`` (before or after)."""

    sha256: Sha256
    size: Annotated[int, msgspec.Meta(ge=1, le=1_073_741_824)]
    mime: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class PushEvent(RequestBody):
    """One outbox entry. ``event_id`` is the phone's UUIDv7; ``captured_at`` is device time
    (recorded and shown, never used for ordering)."""

    event_id: UUID
    device_seq: Annotated[int, msgspec.Meta(ge=0, le=2**53)]
    type: EventType
    captured_at: AwareTime
    payload: dict[str, Any]
    base_version: Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)] | None = None
    media: Annotated[list[MediaRef], msgspec.Meta(max_length=20)] = []

    def __post_init__(self) -> None:
        super().__post_init__()
        check_storable_time("captured_at", self.captured_at)  # kept by the device receipts


class PushRequest(RequestBody):
    protocol: int
    device_id: DeviceId
    device_clock: AwareTime
    """The phone's clock when it sent the batch: the server records the offset."""
    events: Annotated[list[PushEvent], msgspec.Meta(max_length=200)]

    def __post_init__(self) -> None:
        super().__post_init__()
        check_storable_time("device_clock", self.device_clock)


class WaitingFor(msgspec.Struct, kw_only=True):
    kind: str
    """``household``, ``case`` or ``grid_unit``; an award's source: ``visit``, ``case``,
    ``mediation`` or ``source_event``."""
    id: str


class PushResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    event_id: UUID
    status: PushStatus
    errcode: int | None = None
    reason: str | None = None
    waiting_for: list[WaitingFor] | None = None
    position: int | None = None
    """Log position of the event's receipt (compare with ``projected_through``)."""


class PushResponse(msgspec.Struct, kw_only=True):
    results: list[PushResult]
    write_checkpoint: int
    """When a pull reports ``projected_through >= write_checkpoint``, this batch is reflected."""
    server_time: datetime
    clock_offset_ms: int
    """server_time - device_clock as measured on receipt (recorded, never used for order)."""


class PullRequest(RequestBody):
    protocol: int
    device_id: DeviceId
    cursor: Annotated[str, msgspec.Meta(max_length=16_384)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 500


class SyncOp(msgspec.Struct, kw_only=True, omit_defaults=True):
    bucket: str
    op: Literal["put", "remove"]
    kind: str
    id: str
    data: dict[str, Any] | None = None


class ScopeChanges(msgspec.Struct, kw_only=True):
    added: list[str]
    removed: list[str]


class PullResponse(msgspec.Struct, kw_only=True, omit_defaults=True):
    ops: list[SyncOp]
    cursor: str
    has_more: bool
    projected_through: int
    scope_changes: ScopeChanges | None = None
    reset: list[str] | None = None


class ReviewItemView(msgspec.Struct, kw_only=True):
    event_id: UUID
    type: str
    status: Literal["deferred", "review", "accepted", "rejected", "conflict"]
    staff_id: UUID
    device_id: str
    device_seq: int
    unit_id: UUID | None
    captured_at: datetime
    received_at: datetime
    errcode: int | None
    reason: str | None
    waiting_for: list[WaitingFor]
    payload: dict[str, Any]
    conflicts: int
    """How many re-sends under this id carried other content (kept on the receipt)."""
    decided_by: UUID | None
    decision_reason: str | None


class ReviewPage(msgspec.Struct, kw_only=True):
    total: int
    limit: int
    offset: int
    items: list[ReviewItemView]


class RejectReview(RequestBody):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class DeviceStatusView(msgspec.Struct, kw_only=True):
    device_id: str
    staff_id: UUID
    staff_name: str
    accepted: int
    rejected: int
    deferred: int
    review: int
    conflict: int
    last_seen_at: datetime
    """Server time of the device's last pushed event that was new (re-sends are not events)."""
    last_device_seq: int
    clock_offset_ms: int
    """server - device clock at the last push."""
    clock_skew_ms: int
    """Spread (max - min) of the offsets seen: a drifting or hand-set clock."""


class DeviceStatusPage(msgspec.Struct, kw_only=True):
    total: int
    limit: int
    offset: int
    items: list[DeviceStatusView]
