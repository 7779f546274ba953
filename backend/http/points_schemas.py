"""Wire types of awards (积分/表彰) and points accounts (积分超市)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from backend.http.wire import RequestBody
from events.points_events import RedeemItem

__all__ = [
    "AwardPage",
    "AwardView",
    "CancelRedemption",
    "DecideAward",
    "NewRedemption",
    "PointsAccountView",
    "ProposeAward",
    "RedemptionResult",
    "award_view",
    "points_account_view",
    "redemption_result",
]

OwnerKind = Literal["household", "staff"]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Sha256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
RuleCode = Annotated[str, msgspec.Meta(min_length=2, max_length=48)]


class ProposeAward(RequestBody):
    """``source_event_id`` is the visit, case or mediation that earned it: of a kind the
    rule's trigger names, about the owner, in the caller's scope, in a state that earns
    (unknown 40400, scope 40301, kind 40030, owner 40031, state 40932; manual commendations and
    deductions cite any live visit, case or mediation of the owner). Retries with the same
    (rule, source, owner) are one award."""

    rule_code: RuleCode
    source_event_id: UUID
    owner_kind: OwnerKind
    owner_id: UUID
    reason: Reason
    evidence: Annotated[list[Sha256], msgspec.Meta(max_length=9)] = []
    client_time: datetime | None = None


class DecideAward(RequestBody):
    reason: Reason


class Item(RequestBody):
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    unit_points: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1000)]

    def domain(self) -> RedeemItem:
        return RedeemItem(
            sku=self.sku, name=self.name, unit_points=self.unit_points, quantity=self.quantity
        )


class NewRedemption(RequestBody):
    """``redemption_id`` comes from the counter's device: re-sending it is safe."""

    redemption_id: UUID
    items: Annotated[list[Item], msgspec.Meta(min_length=1, max_length=50)]


class CancelRedemption(RequestBody):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class AwardView(msgspec.Struct, kw_only=True):
    id: UUID
    account_id: UUID
    owner_kind: str
    owner_id: UUID
    rule_code: str
    rule_version: int
    trigger: str
    label: str
    rule_points: int
    """Points of the rule version the proposal snapshot; ``points`` is set on approval."""
    commendation: str | None
    source_event_id: UUID
    reason: str
    evidence: list[str]
    state: Literal["proposed", "approved", "rejected", "revoked"]
    points: int | None
    decision_reason: str | None
    proposed_by: UUID | None
    proposed_at: datetime
    decided_by: UUID | None
    decided_at: datetime | None
    version: int
    duplicate: bool = False
    """True when this award had been proposed before (same rule, source and account)."""


class AwardPage(msgspec.Struct, kw_only=True):
    total: int
    limit: int
    offset: int
    items: list[AwardView]


class RedeemedItem(msgspec.Struct, kw_only=True):
    sku: str
    name: str
    unit_points: int
    quantity: int


class HistoryLine(msgspec.Struct, kw_only=True):
    seq: int
    kind: str
    points: int
    """Signed change of the net position (balance minus owed)."""
    requested: int | None
    """For a credit: the points asked for before the rule's caps clipped them."""
    day: date
    balance_after: int
    owed_after: int
    recorded_at: datetime
    award_id: UUID | None
    rule_code: str | None
    commendation: str | None
    award_label: str | None
    award_reason: str | None
    award_state: str | None
    source_event_id: UUID | None
    redemption_id: UUID | None
    redemption_total: int | None
    redemption_items: list[RedeemedItem] | None
    redemption_cancelled: bool | None


class CommendationView(msgspec.Struct, kw_only=True):
    commendation: str
    award_id: UUID
    day: date


class PointsAccountView(msgspec.Struct, kw_only=True):
    id: UUID
    owner_kind: str
    owner_id: UUID
    balance: int
    owed: int
    """Points charged that the balance could not cover; later gains repay them first."""
    version: int
    history: list[HistoryLine]
    """Newest first (the latest 200 lines)."""
    commendations: list[CommendationView] = []


class RedemptionView(msgspec.Struct, kw_only=True):
    redemption_id: UUID
    items: list[RedeemedItem]
    total: int
    day: date
    recorded_at: datetime
    cancelled: bool
    cancel_reason: str | None


class RedemptionResult(msgspec.Struct, kw_only=True):
    redemption: RedemptionView
    account: PointsAccountView
    duplicate: bool = False
    """True when this redemption id had been redeemed before (nothing charged again)."""


def award_view(row: dict[str, Any], *, duplicate: bool = False) -> AwardView:
    return msgspec.convert({**row, "duplicate": duplicate}, AwardView, strict=False)


def points_account_view(doc: dict[str, Any]) -> PointsAccountView:
    return msgspec.convert(doc, PointsAccountView, strict=False)


def redemption_result(
    redemption: dict[str, Any], account: dict[str, Any], *, duplicate: bool = False
) -> RedemptionResult:
    return RedemptionResult(
        redemption=msgspec.convert(redemption, RedemptionView, strict=False),
        account=points_account_view(account),
        duplicate=duplicate,
    )
