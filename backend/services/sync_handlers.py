"""What a pushed event handler is: the item it reads, the plan it returns, what it raises.

Shared by the core handlers (:mod:`backend.services.sync_items`, which also holds the
:class:`~backend.services.sync_items.Judge` and the full table) and the field-captured facts
(:mod:`backend.services.sync_field_items`). Handlers see the judge through :class:`Judging`,
so the field handlers need not import the module that registers them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

import asyncpg
import msgspec
from eventsourcing.domain import Aggregate

from backend.bootstrap import Container
from backend.http.wire import RequestBody
from backend.services.actor import Actor
from events.household import Household

__all__ = [
    "Ctx",
    "Held",
    "Item",
    "Judging",
    "Plan",
    "decode",
    "item_of",
    "waiting_household",
]

_ENCODER = msgspec.json.Encoder(order="sorted")


@dataclass(frozen=True, kw_only=True)
class Item:
    """A pushed event, normalised; ``body`` is canonical JSON and its hash tells a re-send
    from another content under the same id."""

    event_id: UUID
    device_seq: int
    type: str
    captured_at: datetime
    base_version: int | None
    payload: dict[str, Any]
    body: str
    body_sha256: str


def item_of(
    *, event_id: UUID, device_seq: int, type: str, captured_at: datetime,
    base_version: int | None, payload: dict[str, Any], media: list[Any],
) -> Item:  # fmt: skip
    canonical = {"type": type, "base_version": base_version, "payload": payload, "media": media}
    body = _ENCODER.encode(canonical)
    return Item(
        event_id=event_id, device_seq=device_seq, type=type, captured_at=captured_at,
        base_version=base_version, payload=payload, body=body.decode(),
        body_sha256=hashlib.sha256(body).hexdigest(),
    )  # fmt: skip


class Held(Exception):
    """Not applied now: ``deferred`` (waiting), ``review`` (a person decides) or ``rejected``."""

    def __init__(
        self,
        status: Literal["deferred", "review", "rejected"],
        errcode: int,
        reason: str,
        *,
        unit_id: UUID | None = None,
        waiting_for: tuple[str, ...] = (),
    ) -> None:
        super().__init__(reason)
        self.status, self.errcode, self.reason = status, errcode, reason
        self.unit_id, self.waiting_for = unit_id, waiting_for


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What to save with the receipt, in the same transaction."""

    aggregates: tuple[Aggregate, ...]
    unit_id: UUID
    conflicts: int = 0
    """Household edit: field collisions recorded on the household (status ``conflict``)."""


@dataclass(frozen=True)
class Ctx:
    author: Actor
    item: Item
    captured: datetime
    """Capture time estimated on the server's clock (device time + measured offset)."""
    trust_scope: bool

    def meta(self, client_time: datetime | None = None) -> Any:
        return self.author.meta(client_time=client_time or self.item.captured_at)


class Judging(Protocol):
    """What a handler asks of the judge (see :class:`backend.services.sync_items.Judge`)."""

    container: Container
    pool: asyncpg.Pool

    async def household(self, household_id: UUID) -> Household | None: ...

    async def known(self, aggregate_id: UUID) -> bool: ...

    async def aggregate(self, aggregate_id: UUID) -> Aggregate | None: ...

    async def unit(self, unit_id: UUID) -> asyncpg.Record | None: ...

    async def authorise(
        self, ctx: Ctx, unit_id: UUID, roles: tuple[str, ...]
    ) -> asyncpg.Record: ...


def waiting_household(household_id: UUID) -> Held:
    return Held(
        "deferred", 40460, "waiting for a household the server does not know yet",
        waiting_for=(f"household:{household_id}",),
    )  # fmt: skip


def decode(item: Item, body_type: type[RequestBody], extra: dict[str, Any]) -> Any:
    try:
        return msgspec.json.decode(_ENCODER.encode({**item.payload, **extra}), type=body_type)
    except (msgspec.ValidationError, msgspec.DecodeError) as err:
        raise Held("rejected", 40062, f"payload does not match {item.type}: {err}") from None
