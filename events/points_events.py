"""Value types and event payloads of the ``PointsAccount`` aggregate.

``PointsAccount`` re-binds each event class in its body; eventsourcing redefines them there as
``PointsAccount.<Name>`` (their stored topic, e.g. ``events.points:PointsAccount.Credited``).
Events record the amounts the command decided (granted, taken, owed, repaid), so replay never
recomputes a business decision.
"""

from datetime import date
from typing import Final, Literal
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from events.errors import InvalidValue
from events.meta import EventMeta
from events.point_rules import Commendation
from events.points_errors import CapReached
from events.validation import validate_text

__all__ = [
    "ITEMS_MAX",
    "Credited",
    "Deducted",
    "DeductionRefunded",
    "EntryKind",
    "LedgerEntry",
    "Opened",
    "OwnerKind",
    "Posting",
    "RedeemItem",
    "Redeemed",
    "Redemption",
    "RedemptionCancelled",
    "RevocationDebited",
    "clip_to_caps",
    "validate_items",
]

OwnerKind = Literal["household", "staff"]
EntryKind = Literal[
    "credit", "deduction", "revocation", "deduction_refund", "redemption", "redemption_cancel"
]
ITEMS_MAX: Final = 50


class RedeemItem(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a points-supermarket (积分超市) receipt."""

    sku: str
    name: str
    unit_points: int
    quantity: int


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One line of an account's history.

    ``points`` is the signed change of the net position (balance minus owed); the two
    ``*_after`` fields show how it landed.
    """

    kind: EntryKind
    points: int
    day: date
    balance_after: int
    owed_after: int
    award_id: UUID | None = None
    redemption_id: UUID | None = None
    rule_code: str | None = None
    commendation: Commendation | None = None


class Posting(msgspec.Struct, frozen=True, kw_only=True):
    """What an award did to the account: ``points`` granted (credit) or charged (deduction)."""

    kind: Literal["credit", "deduction"]
    rule_code: str
    day: date
    points: int
    reversed: bool = False


class Redemption(msgspec.Struct, frozen=True, kw_only=True):
    items: tuple[RedeemItem, ...]
    total: int
    day: date
    cancelled: bool = False


def _validate_item(item: RedeemItem) -> RedeemItem:
    if item.unit_points < 1 or item.quantity < 1:
        raise InvalidValue("unit_points and quantity must be >= 1", field="items", sku=item.sku)
    return RedeemItem(
        sku=validate_text(item.sku, field="sku", max_len=64),
        name=validate_text(item.name, field="name", max_len=64),
        unit_points=item.unit_points,
        quantity=item.quantity,
    )


def clip_to_caps(
    rule_code: str,
    points: int,
    caps: tuple[int | None, int | None],
    used: tuple[int, int],
    *,
    allow_clip: bool,
) -> int:
    """Points that fit under the (daily, total) caps given what was (daily, total) used.

    Raises CapReached when a positive request is clipped to nothing and not ``allow_clip``."""
    granted = points
    for cap, limit, spent in zip(("daily", "total"), caps, used, strict=True):
        if limit is None:
            continue
        granted = min(granted, max(0, limit - spent))
        if granted == 0 and points > 0 and not allow_clip:
            raise CapReached(
                f"{cap} cap of {rule_code} reached",
                rule_code=rule_code,
                cap=cap,
                limit=limit,
                used=spent,
                requested=points,
            )
    return granted


def validate_items(items: tuple[RedeemItem, ...]) -> tuple[RedeemItem, ...]:
    """1..ITEMS_MAX items with distinct SKUs, normalised."""
    if not 1 <= len(items) <= ITEMS_MAX:
        raise InvalidValue(f"a redemption has 1..{ITEMS_MAX} items", field="items")
    valid = tuple(_validate_item(i) for i in items)
    if len({i.sku for i in valid}) != len(valid):
        raise InvalidValue("an SKU appears twice; use quantity", field="items")
    return valid


class Opened(Aggregate.Created):
    owner_kind: OwnerKind
    owner_id: UUID
    meta: EventMeta


class Credited(Aggregate.Event):
    award_id: UUID
    rule_code: str
    on: date
    requested: int
    granted: int  # after caps
    repaid: int  # part of granted that paid off owed points
    daily_cap: int | None
    total_cap: int | None
    commendation: Commendation | None
    meta: EventMeta


class Deducted(Aggregate.Event):
    award_id: UUID
    rule_code: str
    on: date
    points: int  # charged, > 0
    taken: int  # from the balance
    owed: int  # the shortfall
    meta: EventMeta


class RevocationDebited(Aggregate.Event):
    award_id: UUID
    on: date
    points: int  # the granted points being reversed
    taken: int
    owed: int
    meta: EventMeta


class DeductionRefunded(Aggregate.Event):
    award_id: UUID
    on: date
    points: int
    repaid: int
    meta: EventMeta


class Redeemed(Aggregate.Event):
    redemption_id: UUID
    on: date
    items: tuple[RedeemItem, ...]
    total: int
    meta: EventMeta


class RedemptionCancelled(Aggregate.Event):
    redemption_id: UUID
    on: date
    reason: str
    refund: int
    repaid: int
    meta: EventMeta
