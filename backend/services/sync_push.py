"""Push: a phone's outbox batch, answered item by item (docs/sync-protocol.md §1).

Each item is saved with its :class:`SyncReceipt` in one ``save()`` (one transaction): a retried
batch after a lost response finds the receipts and writes nothing new, and two concurrent
re-sends cannot both win (the receipt's first version is unique in the store). An item that
cannot be applied now is still acknowledged — rejected, deferred or held for review — so one bad
event never blocks the phone's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from anyio import to_thread
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.http.sync_schemas import PROTOCOL_VERSION, PushEvent, PushRequest, PushResult
from backend.http.sync_schemas import WaitingFor as WaitingForView
from backend.services.actor import Actor
from backend.services.commands import CommandRunner
from backend.services.sync_items import Held, Item, Judge, Plan, item_of
from events.sync_receipt import ReceiptStatus, SyncReceipt
from storage.eventstore import EVENTS_TABLE

__all__ = [
    "RELEASE_WAKE",
    "SyncPushService",
    "check_protocol",
    "load_receipts",
    "result_of",
    "wake",
]

_ATTEMPTS = 3
RELEASE_WAKE = "sync_release_wake"


def wake(container: Container) -> None:
    """Ask the sync worker for an early pass: what was accepted may release held events."""
    event = container.services.get(RELEASE_WAKE)
    if isinstance(event, asyncio.Event):
        event.set()


def check_protocol(protocol: int, device_id: str, actor: Actor) -> None:
    if protocol != PROTOCOL_VERSION:
        raise ApiError(40060, "unsupported sync protocol version", supported=[PROTOCOL_VERSION])
    if device_id != actor.device_id:
        raise ApiError(40360, "device_id is not the device this token is bound to")


def load_receipts(container: Container, event_ids: Sequence[UUID]) -> dict[UUID, SyncReceipt]:
    """Blocking: call from a worker thread."""
    found: dict[UUID, SyncReceipt] = {}
    for event_id in event_ids:
        try:
            receipt: object = container.event_log.repository.get(SyncReceipt.create_id(event_id))
        except AggregateNotFoundError:
            continue
        if isinstance(receipt, SyncReceipt):
            found[event_id] = receipt
    return found


def result_of(receipt: SyncReceipt, *, position: int | None = None) -> PushResult:
    """The answer a receipt gives (``accepted`` stays ``accepted`` here; see :meth:`_again`)."""
    waiting = [
        WaitingForView(kind=k, id=i) for k, _, i in (w.partition(":") for w in receipt.waiting_for)
    ]
    return PushResult(
        event_id=receipt.event_id, status=receipt.status, errcode=receipt.errcode,
        reason=receipt.reason, waiting_for=waiting or None, position=position,
    )  # fmt: skip


def _item(event: PushEvent) -> Item:
    media = [{"sha256": m.sha256, "size": m.size, "mime": m.mime} for m in event.media]
    return item_of(
        event_id=event.event_id, device_seq=event.device_seq, type=event.type,
        captured_at=event.captured_at, base_version=event.base_version,
        payload=event.payload, media=media,
    )  # fmt: skip


class SyncPushService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.commands = CommandRunner(container)

    async def push(self, actor: Actor, request: PushRequest) -> tuple[list[PushResult], int, int]:
        """Per-item results, the write checkpoint and the measured clock offset (ms)."""
        check_protocol(request.protocol, request.device_id, actor)
        now = self.container.clock.now()  # dates of captured acts follow the server's clock
        offset_ms = int((now - request.device_clock) / timedelta(milliseconds=1))
        items = [_item(e) for e in request.events]
        try:
            results = await self._together(actor, items, offset_ms)
        except RecordConflictError:
            # Something in the batch was taken meanwhile (a concurrent re-send, a household
            # number, an id used outside sync): nothing of it was written, so decide item by
            # item on what is stored now.
            known = await self._known(items)
            results = [await self._one(actor, i, known.get(i.event_id), offset_ms) for i in items]
        self.container.runner.wake()
        if any(r.status in ("accepted", "conflict") for r in results):
            wake(self.container)
        return results, await self.container.runner.head(), offset_ms

    async def _together(self, actor: Actor, items: list[Item], offset_ms: int) -> list[PushResult]:
        """The common case in one transaction: every new item with its receipt, one save."""
        if any(i.type == "household.edited" for i in items):
            raise RecordConflictError("edits are decided one by one, each on fresh state")
        if len({i.event_id for i in items}) < len(items):
            raise RecordConflictError("an event id twice in one batch")
        judge = Judge(self.container, batch=True)
        # Independent reads, run side by side (a re-sent item's household is loaded unused).
        known, _ = await asyncio.gather(self._known(items), judge.prefetch(items))
        answers: list[PushResult | SyncReceipt] = []
        group: dict[int, Aggregate] = {}
        for item in items:
            if item.event_id in known:
                answers.append(await self._again(known[item.event_id], item, actor.device_id))
                continue
            receipt, aggregates = await self._decide(judge, actor, item, offset_ms)
            group.update((id(a), a) for a in (*aggregates, receipt))
            answers.append(receipt)
        positions = await to_thread.run_sync(lambda: self._save_all(list(group.values())))
        return [
            a if isinstance(a, PushResult) else result_of(a, position=positions.get(a.id))
            for a in answers
        ]

    def _save_all(self, aggregates: list[Aggregate]) -> dict[UUID, int]:
        """Blocking: one transaction; the log position of each aggregate's last event."""
        if not aggregates:
            return {}
        recordings = self.container.event_log.save(*aggregates)
        return {r.domain_event.originator_id: r.notification.id for r in recordings}

    async def _known(self, items: list[Item]) -> dict[UUID, SyncReceipt]:
        """Receipts already stored for these items (one query; loaded only if any exist)."""
        ids = {SyncReceipt.create_id(i.event_id): i.event_id for i in items}
        rows = await self.container.pool.fetch(
            f"SELECT originator_id FROM {EVENTS_TABLE} WHERE originator_id = ANY($1::uuid[]) "
            "AND originator_version = 1",
            list(ids),
        )
        if not rows:
            return {}
        found = [ids[r["originator_id"]] for r in rows]
        return await to_thread.run_sync(lambda: load_receipts(self.container, found))

    async def _one(
        self, actor: Actor, item: Item, receipt: SyncReceipt | None, offset_ms: int
    ) -> PushResult:
        for _ in range(_ATTEMPTS):
            if receipt is not None:
                return await self._again(receipt, item, actor.device_id)
            try:
                return await self._first(actor, item, offset_ms)
            except RecordConflictError:
                # Someone got in first: the same event (a concurrent re-send) or the same
                # household (a concurrent edit). Look again and decide on what is stored now.
                receipt = await to_thread.run_sync(
                    lambda: load_receipts(self.container, [item.event_id]).get(item.event_id)
                )
        return PushResult(
            event_id=item.event_id, status="rejected", errcode=40910,
            reason="the household kept changing under this edit; send it again",
        )  # fmt: skip

    async def _decide(
        self, judge: Judge, actor: Actor, item: Item, offset_ms: int
    ) -> tuple[SyncReceipt, tuple[Aggregate, ...]]:
        """The item's receipt and what to save with it."""
        captured = item.captured_at + timedelta(milliseconds=offset_ms)
        stamp = _Stamp(actor, item, offset_ms)
        try:
            plan = await judge.plan(actor, item, captured=captured)
        except Held as held:
            receipt = stamp.receipt(
                held.status, held.unit_id, held.errcode, held.reason, held.waiting_for
            )
            return receipt, ()
        errcode, reason = _collision(plan)
        status: ReceiptStatus = "conflict" if plan.conflicts else "accepted"
        return stamp.receipt(status, plan.unit_id, errcode, reason), plan.aggregates

    async def _first(self, actor: Actor, item: Item, offset_ms: int) -> PushResult:
        receipt, aggregates = await self._decide(Judge(self.container), actor, item, offset_ms)
        try:
            position = await self._save(*aggregates, receipt)
        except RecordConflictError:
            if (
                not aggregates
                or item.type == "household.edited"
                or await self._receipt_exists(item)
            ):
                raise  # decide again on what is stored now
            # The id (or household number) was taken outside sync: never overwritten.
            stamp = _Stamp(actor, item, offset_ms)
            receipt = stamp.receipt("rejected", receipt.unit_id, 40911, "already exists")
            position = await self._save(receipt)
        return result_of(receipt, position=position)

    async def _again(self, receipt: SyncReceipt, item: Item, device_id: str) -> PushResult:
        """A re-send: same content answers from the receipt; other content is kept."""
        if receipt.body_sha256 == item.body_sha256:
            if receipt.status in ("accepted", "conflict"):
                return PushResult(event_id=item.event_id, status="duplicate")
            return result_of(receipt)
        receipt.record_conflict(body=item.body, body_sha256=item.body_sha256, device_id=device_id)
        # If the receipt moved on meanwhile (applied, refused), the first content stands anyway.
        with contextlib.suppress(RecordConflictError):
            await self._save(receipt)
        return PushResult(
            event_id=item.event_id, status="conflict", errcode=40960,
            reason="event id already used with other content; kept for review",
        )  # fmt: skip

    async def _receipt_exists(self, item: Item) -> bool:
        found = await to_thread.run_sync(lambda: load_receipts(self.container, [item.event_id]))
        return bool(found)

    async def _save(self, *aggregates: Aggregate) -> int:
        return await to_thread.run_sync(lambda: self.commands.save_blocking(*aggregates))


def _collision(plan: Plan) -> tuple[int | None, str | None]:
    if not plan.conflicts:
        return None, None
    return 40961, f"{plan.conflicts} field(s) collided with a concurrent change; recorded"


class _Stamp:
    """Builds the receipt of one item for its author."""

    def __init__(self, actor: Actor, item: Item, offset_ms: int) -> None:
        self.actor, self.item, self.offset_ms = actor, item, offset_ms

    def receipt(
        self, status: ReceiptStatus, unit_id: UUID | None, errcode: int | None,
        reason: str | None, waiting_for: tuple[str, ...] = (),
    ) -> SyncReceipt:  # fmt: skip
        actor, item = self.actor, self.item
        return SyncReceipt.receive(
            event_id=item.event_id, staff_id=actor.staff_id, role=actor.role,
            scope_unit_id=actor.scope_unit_id, device_id=actor.device_id,
            device_seq=item.device_seq, event_type=item.type, captured_at=item.captured_at,
            clock_offset_ms=self.offset_ms, body=item.body, body_sha256=item.body_sha256,
            unit_id=unit_id, status=status, errcode=errcode, reason=reason,
            waiting_for=waiting_for,
        )  # fmt: skip
