"""Points accounts (积分账户) of households and staff, and the points supermarket (积分超市).

The id derives from the owner (``PointsAccount.id_for(owner_kind, owner_id)``): one account per
household or staff member, under optimistic concurrency (DESIGN §4).

Rules of the ledger:

* **Never negative.** ``balance`` is what can be spent. A charge that finds too few points
  (a deduction, or the reversal of an award already spent) takes what is there and records
  the rest as ``owed``. Every later gain (credit, refund) repays ``owed`` first, so
  ``owed > 0`` implies ``balance == 0`` and the net position is ``balance - owed``.
* **Idempotent per award and redemption.** Crediting or deducting an award twice, reversing it
  twice, or repeating a redemption with the same items is a no-op (workers and phones retry).
  Reusing a redemption id with other items is ``InvalidValue``. Cancelling a redemption is a
  person's act at the counter: the second cancel is refused (``InvalidTransition``).
* **Caps clip credits.** ``daily_cap`` limits one rule's points per account per day,
  ``total_cap`` its points ever. A credit beyond them is clipped and recorded with
  ``requested`` and ``granted``. A credit clipped to *nothing* raises ``CapReached`` unless
  ``allow_clip=True`` (the posting worker passes it, so the award is settled with 0 points;
  an interactive approver leaves it off to be told). Commendations of 0 points are never
  clipped. A reversed credit frees its room under the caps again.
* ``on`` is the business day (``events.business_date``: Asia/Shanghai unless configured)
  chosen by the caller from the server clock or the source event; the device clock is never
  used.
"""

from datetime import date
from typing import Any, Final, Self
from uuid import UUID, uuid5

import msgspec
from eventsourcing.domain import Aggregate, event

from events import points_events
from events.errors import InvalidTransition, InvalidValue, NotFound
from events.meta import EventMeta
from events.point_rules import Commendation
from events.points_errors import InsufficientBalance
from events.points_events import (
    EntryKind,
    LedgerEntry,
    OwnerKind,
    Posting,
    RedeemItem,
    Redemption,
    clip_to_caps,
    validate_items,
)
from events.validation import validate_text

__all__ = ["POINTS_NAMESPACE", "PointsAccount"]

POINTS_NAMESPACE: Final = UUID("a0f01da7-e5d3-451c-a9d4-e53f228dc5aa")


class PointsAccount(Aggregate):
    """The points of one household or staff member."""

    Opened = points_events.Opened
    Credited = points_events.Credited
    Deducted = points_events.Deducted
    RevocationDebited = points_events.RevocationDebited
    DeductionRefunded = points_events.DeductionRefunded
    Redeemed = points_events.Redeemed
    RedemptionCancelled = points_events.RedemptionCancelled

    @staticmethod
    def create_id(owner_kind: str, owner_id: UUID) -> UUID:
        """eventsourcing hook: one account per owner."""
        return uuid5(POINTS_NAMESPACE, f"points:{owner_kind}:{owner_id}")

    @classmethod
    def id_for(cls, owner_kind: OwnerKind, owner_id: UUID) -> UUID:
        return cls.create_id(owner_kind, owner_id)

    @classmethod
    def open(cls, owner_kind: OwnerKind, owner_id: UUID, *, meta: EventMeta) -> Self:
        if owner_kind not in ("household", "staff"):
            raise InvalidValue("unknown owner kind", field="owner_kind", value=owner_kind)
        return cls(owner_kind=owner_kind, owner_id=owner_id, meta=meta)

    @event(Opened)
    def __init__(self, owner_kind: OwnerKind, owner_id: UUID, meta: EventMeta) -> None:
        self.owner_kind: OwnerKind = owner_kind
        self.owner_id = owner_id
        self.balance = 0
        self.owed = 0
        self.history: list[LedgerEntry] = []
        self.postings: dict[UUID, Posting] = {}
        self.redemptions: dict[UUID, Redemption] = {}
        self.daily_used: dict[tuple[str, date], int] = {}
        self.total_used: dict[str, int] = {}

    # -- queries ---------------------------------------------------------------------------

    @property
    def commendations(self) -> list[Commendation]:
        """Commendations held: credited and not revoked."""
        held = {k for k, p in self.postings.items() if p.kind == "credit" and not p.reversed}
        return [e.commendation for e in self.history if e.commendation and e.award_id in held]

    def used_on(self, rule_code: str, day: date) -> int:
        """Points granted by ``rule_code`` on ``day`` (for the daily cap)."""
        return self.daily_used.get((rule_code, day), 0)

    # -- commands: awards ------------------------------------------------------------------

    def credit(
        self,
        award_id: UUID,
        rule_code: str,
        points: int,
        *,
        on: date,
        daily_cap: int | None,
        total_cap: int | None,
        meta: EventMeta,
        commendation: Commendation | None = None,
        allow_clip: bool = False,
    ) -> int:
        """Credit an approved award within the caps; returns the points granted."""
        if award_id in self.postings:
            return self.postings[award_id].points
        if points < 0:
            raise InvalidValue("credit points must be >= 0; use deduct", field="points")
        used = (self.used_on(rule_code, on), self.total_used.get(rule_code, 0))
        granted = clip_to_caps(
            rule_code, points, (daily_cap, total_cap), used, allow_clip=allow_clip
        )
        self._credited(
            award_id=award_id,
            rule_code=rule_code,
            on=on,
            requested=points,
            granted=granted,
            repaid=min(granted, self.owed),
            daily_cap=daily_cap,
            total_cap=total_cap,
            commendation=commendation,
            meta=meta,
        )
        return granted

    def deduct(
        self, award_id: UUID, rule_code: str, points: int, *, on: date, meta: EventMeta
    ) -> None:
        """Charge a deduction (e.g. 约谈 of a grid member); a shortfall becomes ``owed``."""
        if award_id in self.postings:
            return
        if points < 1:
            raise InvalidValue("deduction points must be >= 1", field="points")
        taken = min(points, self.balance)
        self._deducted(
            award_id=award_id,
            rule_code=rule_code,
            on=on,
            points=points,
            taken=taken,
            owed=points - taken,
            meta=meta,
        )

    def debit_revocation(self, award_id: UUID, *, on: date, meta: EventMeta) -> None:
        """Reverse a credited award that was revoked; points already spent become ``owed``."""
        posting = self._posting(award_id, "credit")
        if not posting.reversed:
            taken = min(posting.points, self.balance)
            self._revocation_debited(
                award_id=award_id,
                on=on,
                points=posting.points,
                taken=taken,
                owed=posting.points - taken,
                meta=meta,
            )

    def refund_deduction(self, award_id: UUID, *, on: date, meta: EventMeta) -> None:
        """Give back a deduction whose award was revoked (owed points are forgiven first)."""
        posting = self._posting(award_id, "deduction")
        if not posting.reversed:
            self._deduction_refunded(
                award_id=award_id,
                on=on,
                points=posting.points,
                repaid=min(posting.points, self.owed),
                meta=meta,
            )

    # -- commands: points supermarket ------------------------------------------------------

    def redeem(
        self, redemption_id: UUID, items: tuple[RedeemItem, ...], *, on: date, meta: EventMeta
    ) -> None:
        """Exchange points for goods; the balance must cover the total."""
        items = validate_items(items)
        known = self.redemptions.get(redemption_id)
        if known is not None:
            if known.items != items:
                raise InvalidValue("redemption_id reused with other items", field="redemption_id")
            return
        total = sum(i.unit_points * i.quantity for i in items)
        if total > self.balance:
            raise InsufficientBalance("not enough points", balance=self.balance, needed=total)
        self._redeemed(redemption_id=redemption_id, on=on, items=items, total=total, meta=meta)

    def cancel_redemption(
        self, redemption_id: UUID, reason: str, *, on: date, meta: EventMeta
    ) -> None:
        """Refund a redemption once (goods returned, entry error)."""
        known = self.redemptions.get(redemption_id)
        if known is None:
            raise NotFound("no such redemption", redemption_id=str(redemption_id))
        if known.cancelled:
            raise InvalidTransition("redemption is already cancelled", state="cancelled")
        self._redemption_cancelled(
            redemption_id=redemption_id,
            on=on,
            reason=validate_text(reason, field="reason", max_len=200),
            refund=known.total,
            repaid=min(known.total, self.owed),
            meta=meta,
        )

    # -- command helpers -------------------------------------------------------------------

    def _posting(self, award_id: UUID, kind: str) -> Posting:
        posting = self.postings.get(award_id)
        if posting is None or posting.kind != kind:
            raise NotFound(f"no {kind} for this award", award_id=str(award_id))
        return posting

    # -- event appliers (also run on replay: no validation here) ----------------------------

    def _move(self, gain: int, loss: int, repaid: int, owed: int) -> None:
        self.balance += gain - repaid - loss
        self.owed += owed - repaid

    def _log(self, kind: EntryKind, points: int, day: date, **refs: Any) -> None:
        self.history.append(
            LedgerEntry(
                kind=kind,
                points=points,
                day=day,
                balance_after=self.balance,
                owed_after=self.owed,
                **refs,
            )
        )

    def _count(self, rule_code: str, day: date, points: int) -> None:
        key = (rule_code, day)
        self.daily_used[key] = self.daily_used.get(key, 0) + points
        self.total_used[rule_code] = self.total_used.get(rule_code, 0) + points

    def _mark_reversed(self, award_id: UUID) -> Posting:
        posting = msgspec.structs.replace(self.postings[award_id], reversed=True)
        self.postings[award_id] = posting
        return posting

    @event(Credited)
    def _credited(
        self,
        award_id: UUID,
        rule_code: str,
        on: date,
        requested: int,
        granted: int,
        repaid: int,
        daily_cap: int | None,
        total_cap: int | None,
        commendation: Commendation | None,
        meta: EventMeta,
    ) -> None:
        self._move(gain=granted, loss=0, repaid=repaid, owed=0)
        self._count(rule_code, on, granted)
        self.postings[award_id] = Posting(
            kind="credit", rule_code=rule_code, day=on, points=granted
        )
        self._log(
            "credit", granted, on, award_id=award_id, rule_code=rule_code, commendation=commendation
        )

    @event(Deducted)
    def _deducted(
        self,
        award_id: UUID,
        rule_code: str,
        on: date,
        points: int,
        taken: int,
        owed: int,
        meta: EventMeta,
    ) -> None:
        self._move(gain=0, loss=taken, repaid=0, owed=owed)
        self.postings[award_id] = Posting(
            kind="deduction", rule_code=rule_code, day=on, points=points
        )
        self._log("deduction", -points, on, award_id=award_id, rule_code=rule_code)

    @event(RevocationDebited)
    def _revocation_debited(
        self, award_id: UUID, on: date, points: int, taken: int, owed: int, meta: EventMeta
    ) -> None:
        self._move(gain=0, loss=taken, repaid=0, owed=owed)
        posting = self._mark_reversed(award_id)
        self._count(posting.rule_code, posting.day, -points)
        self._log("revocation", -points, on, award_id=award_id, rule_code=posting.rule_code)

    @event(DeductionRefunded)
    def _deduction_refunded(
        self, award_id: UUID, on: date, points: int, repaid: int, meta: EventMeta
    ) -> None:
        self._move(gain=points, loss=0, repaid=repaid, owed=0)
        posting = self._mark_reversed(award_id)
        self._log("deduction_refund", points, on, award_id=award_id, rule_code=posting.rule_code)

    @event(Redeemed)
    def _redeemed(
        self,
        redemption_id: UUID,
        on: date,
        items: tuple[RedeemItem, ...],
        total: int,
        meta: EventMeta,
    ) -> None:
        self._move(gain=0, loss=total, repaid=0, owed=0)
        self.redemptions[redemption_id] = Redemption(items=items, total=total, day=on)
        self._log("redemption", -total, on, redemption_id=redemption_id)

    @event(RedemptionCancelled)
    def _redemption_cancelled(
        self,
        redemption_id: UUID,
        on: date,
        reason: str,
        refund: int,
        repaid: int,
        meta: EventMeta,
    ) -> None:
        self._move(gain=refund, loss=0, repaid=repaid, owed=0)
        self.redemptions[redemption_id] = msgspec.structs.replace(
            self.redemptions[redemption_id], cancelled=True
        )
        self._log("redemption_cancel", refund, on, redemption_id=redemption_id)
