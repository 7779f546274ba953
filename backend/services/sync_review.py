"""Held pushed events: the supervisors' review queue, and their release by the server.

A held event is applied as its *author* (staff, role, scope and device at push time, capture
time as the phone said) — the reviewer is recorded on the receipt, never as the author. The
receipt changes in the same ``save()`` as the event it lets through, and its version guards
against two deciders (or the release worker and a reviewer) applying it twice.
"""

from __future__ import annotations

import builtins
import json
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from anyio import to_thread
from eventsourcing.persistence import RecordConflictError

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.commands import CommandRunner
from backend.services.review_masking import masked_receipt
from backend.services.scope import require_role, require_unit_in_scope
from backend.services.sync_items import Held, Item, Judge, item_of
from backend.services.sync_push import load_receipts
from events.sync_receipt import SyncReceipt
from projections import device_status, household_files, sync_receipts

__all__ = ["DECIDERS", "DEFER_HORIZON", "SyncReviewService", "release_deferred"]

DEFER_HORIZON = timedelta(hours=72)
"""A deferred event whose dependency has not arrived after this long goes to review."""
DECIDERS = ("grid_head", "supervisor", "admin")
# Everyone may read the queue and devices *within their scope*: a member sees their own grid's
# held events and their own phone, a supervisor the whole subtree.
READERS = (*DECIDERS, "auditor", "grid_member", "mediator")


def author_of(receipt: SyncReceipt) -> Actor:
    return Actor(
        staff_id=receipt.staff_id, name="", role=receipt.role,
        scope_unit_id=receipt.scope_unit_id, device_id=receipt.device_id, session_id=None,
    )  # fmt: skip


def item_from(receipt: SyncReceipt) -> Item:
    body: dict[str, Any] = json.loads(receipt.body)
    return item_of(
        event_id=receipt.event_id, device_seq=receipt.device_seq, type=receipt.event_type,
        captured_at=receipt.captured_at, base_version=body["base_version"],
        payload=body["payload"], media=body["media"],
    )  # fmt: skip


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _captured(receipt: SyncReceipt) -> datetime:
    return receipt.captured_at + timedelta(milliseconds=receipt.clock_offset_ms)


class SyncReviewService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.pool = container.pool
        self.commands = CommandRunner(container)
        self.judge = Judge(container)

    async def list(
        self, actor: Actor, *, statuses: tuple[str, ...], limit: int, offset: int
    ) -> tuple[int, builtins.list[dict[str, Any]]]:
        require_role(actor, *READERS)
        total, rows = await sync_receipts.list_held(
            self.pool, scope_unit_id=actor.scope_unit_id, statuses=statuses, limit=limit,
            offset=offset,
        )  # fmt: skip
        return total, [await self._masked(actor, r) for r in rows]

    async def _masked(self, actor: Actor, row: dict[str, Any]) -> dict[str, Any]:
        """The pushed payload as the reader may see the records it changes (privacy rule 4)."""
        doc = None
        payload = row["body"].get("payload")
        named = payload.get("household_id") if isinstance(payload, dict) else None
        household_id = _uuid(named) if isinstance(named, str) else None
        if row["event_type"] == "household.edited" and household_id is not None:
            doc = await household_files.get_file(self.pool, household_id)
        return masked_receipt(row, role=actor.role, doc=doc, on=self.container.clock.today())

    async def devices(
        self, actor: Actor, *, staff_id: UUID | None, limit: int, offset: int
    ) -> tuple[int, builtins.list[dict[str, Any]]]:
        require_role(actor, *READERS)
        return await device_status.list_devices(
            self.pool, scope_unit_id=actor.scope_unit_id, staff_id=staff_id, limit=limit,
            offset=offset,
        )  # fmt: skip

    async def accept(self, actor: Actor, event_id: UUID) -> dict[str, Any]:
        receipt = await self._held(actor, event_id)
        try:
            plan = await self.judge.plan(
                author_of(receipt), item_from(receipt), captured=_captured(receipt),
                trust_scope=True,
            )  # fmt: skip
        except Held as held:
            raise ApiError(
                40910, f"cannot apply the held event: {held.reason}", item_errcode=held.errcode
            ) from None
        receipt.apply_held(decided_by=actor.staff_id)
        return await self._decided(actor, event_id, *plan.aggregates, receipt)

    async def reject(self, actor: Actor, event_id: UUID, reason: str) -> dict[str, Any]:
        receipt = await self._held(actor, event_id)
        receipt.refuse(errcode=40362, reason=reason, decided_by=actor.staff_id)
        return await self._decided(actor, event_id, receipt)

    async def _held(self, actor: Actor, event_id: UUID) -> SyncReceipt:
        require_role(actor, *DECIDERS)
        found = await to_thread.run_sync(lambda: load_receipts(self.container, [event_id]))
        receipt = found.get(event_id)
        if receipt is None:
            raise ApiError(40400, "no such pushed event", id=str(event_id))
        await require_unit_in_scope(self.pool, actor, receipt.unit_id or receipt.scope_unit_id)
        if receipt.status not in ("deferred", "review"):
            raise ApiError(40962, "the pushed event is not held any more", state=receipt.status)
        return receipt

    async def _decided(self, actor: Actor, event_id: UUID, *aggregates: Any) -> dict[str, Any]:
        try:
            position = await to_thread.run_sync(lambda: self.commands.save_blocking(*aggregates))
        except RecordConflictError:
            raise ApiError(40962, "the pushed event was decided meanwhile") from None
        await self.commands.settle(position)
        row = await sync_receipts.get_receipt(self.pool, event_id)
        if row is None:  # only if the read model lags past the settle timeout
            raise ApiError(50320, "the decision is saved; its read model lags, look again")
        return await self._masked(actor, row)


async def release_deferred(container: Container, *, now: datetime | None = None) -> int:
    """Retry every deferred event once; returns how many left the deferred state."""
    now = now or datetime.now(UTC)
    judge, commands = Judge(container), CommandRunner(container)
    moved = saved = 0
    rows = await sync_receipts.deferred_receipts(container.pool, limit=500)
    found = await to_thread.run_sync(
        lambda: load_receipts(container, [r["event_id"] for r in rows])
    )
    for receipt in found.values():
        if receipt.status != "deferred":
            continue
        aggregates = await _release_one(judge, receipt, now)
        if aggregates is None:
            continue
        try:
            await to_thread.run_sync(partial(commands.save_blocking, *aggregates))
        except RecordConflictError:
            continue  # decided or changed meanwhile: the next round looks again
        saved += 1
        if receipt.status != "deferred":  # not when only what it waits for changed
            moved += 1
    if saved:
        container.runner.wake()
    return moved


async def _release_one(judge: Judge, receipt: SyncReceipt, now: datetime) -> tuple[Any, ...] | None:
    """What to save for one deferred receipt, or None to keep waiting."""
    try:
        plan = await judge.plan(author_of(receipt), item_from(receipt), captured=_captured(receipt))
    except Held as held:
        if held.status == "deferred":
            # One dependency may have arrived and another be missing: say what it waits for now.
            receipt.wait_for(held.waiting_for, errcode=held.errcode, reason=held.reason)
            if now - receipt.created_on >= DEFER_HORIZON:
                receipt.flag(errcode=40460, reason="waited past the deferral horizon; review it")
            return (receipt,) if receipt.pending_events else None
        if held.status == "review":
            # Nothing is missing now; a person decides (the flag says why).
            receipt.wait_for((), errcode=held.errcode, reason=held.reason)
            receipt.flag(errcode=held.errcode, reason=held.reason)
        else:
            receipt.refuse(errcode=held.errcode, reason=held.reason, decided_by=None)
        return (receipt,)
    receipt.apply_held(decided_by=None)
    return (*plan.aggregates, receipt)
