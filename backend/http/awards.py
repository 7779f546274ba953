"""Award endpoints (积分/表彰) and points accounts with the points supermarket (积分超市)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.points_schemas import (
    AwardPage,
    AwardView,
    CancelRedemption,
    DecideAward,
    NewRedemption,
    OwnerKind,
    PointsAccountView,
    ProposeAward,
    RedemptionResult,
    award_view,
    points_account_view,
    redemption_result,
)
from backend.http.responses import READ_ERRORS, WRITE_ERRORS
from backend.services.awards import AwardDraft, AwardService
from backend.services.points import PointsService

__all__ = ["AwardController", "PointsAccountController"]

AwardState = Literal["proposed", "approved", "rejected", "revoked"]
_REPEATED = ResponseSpec(AwardView, description="Proposed before (duplicate)")
_REDEEMED = ResponseSpec(RedemptionResult, description="Redeemed before under this id")


class AwardController(Controller):
    path = "/v1/awards"
    tags = ["awards"]
    dependencies = actor_dependency
    security = BEARER

    @post(
        operation_id="proposeAward",
        summary="Propose an award under the rule in force today; a retry answers 200 duplicate",
        responses={**WRITE_ERRORS, 200: _REPEATED},
    )
    async def propose(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[ProposeAward]
    ) -> Response[AwardView]:
        draft = AwardDraft(
            rule_code=data.rule_code, source_event_id=data.source_event_id,
            owner_kind=data.owner_kind, owner_id=data.owner_id, reason=data.reason,
            evidence=tuple(data.evidence), client_time=data.client_time,
        )  # fmt: skip
        row, duplicate = await AwardService(container).propose(actor, draft)
        return Response(award_view(row, duplicate=duplicate), status_code=200 if duplicate else 201)

    @get(operation_id="listAwards", summary="Awards in your scope", responses=READ_ERRORS)
    async def list_awards(
        self,
        container: ContainerDep,
        actor: ActorDep,
        award_state: Annotated[AwardState | None, QueryParameter(name="state")] = None,
        owner_kind: FromQuery[OwnerKind | None] = None,
        owner_id: FromQuery[UUID | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> AwardPage:
        total, rows = await AwardService(container).list(
            actor, state=award_state, owner_kind=owner_kind, owner_id=owner_id, limit=limit,
            offset=offset,
        )  # fmt: skip
        return AwardPage(
            total=total, limit=limit, offset=offset, items=[award_view(r) for r in rows]
        )

    @get("/{award_id:uuid}", operation_id="getAward", summary="One award", responses=READ_ERRORS)
    async def get_award(
        self, container: ContainerDep, actor: ActorDep, award_id: FromPath[UUID]
    ) -> AwardView:
        return award_view(await AwardService(container).view(actor, award_id))

    @post(
        "/{award_id:uuid}/approve",
        operation_id="approveAward",
        status_code=200,
        summary="Approve (not your own proposal) and post the points to the account",
        responses=WRITE_ERRORS,
    )
    async def approve(
        self, container: ContainerDep, actor: ActorDep, award_id: FromPath[UUID]
    ) -> AwardView:
        return award_view(await AwardService(container).approve(actor, award_id))

    @post(
        "/{award_id:uuid}/reject",
        operation_id="rejectAward",
        status_code=200,
        summary="Reject a proposal",
        responses=WRITE_ERRORS,
    )
    async def reject(
        self,
        container: ContainerDep,
        actor: ActorDep,
        award_id: FromPath[UUID],
        data: JSONBody[DecideAward],
    ) -> AwardView:
        return award_view(await AwardService(container).reject(actor, award_id, data.reason))

    @post(
        "/{award_id:uuid}/revoke",
        operation_id="revokeAward",
        status_code=200,
        summary="Withdraw an approved award; its points are reversed",
        responses=WRITE_ERRORS,
    )
    async def revoke(
        self,
        container: ContainerDep,
        actor: ActorDep,
        award_id: FromPath[UUID],
        data: JSONBody[DecideAward],
    ) -> AwardView:
        return award_view(await AwardService(container).revoke(actor, award_id, data.reason))


class PointsAccountController(Controller):
    path = "/v1/points-accounts/{owner_kind:str}/{owner_id:uuid}"
    tags = ["points"]
    dependencies = actor_dependency
    security = BEARER

    @get(operation_id="getPointsAccount", summary="Balance and history", responses=READ_ERRORS)
    async def get_account(
        self,
        container: ContainerDep,
        actor: ActorDep,
        owner_kind: FromPath[OwnerKind],
        owner_id: FromPath[UUID],
    ) -> PointsAccountView:
        doc = await PointsService(container).account(actor, owner_kind, owner_id)
        return points_account_view(doc)

    @post(
        "/redemptions",
        operation_id="redeemPoints",
        summary="Exchange points for goods; above the balance is 40930; a re-send answers 200",
        responses={**WRITE_ERRORS, 200: _REDEEMED},
    )
    async def redeem(
        self,
        container: ContainerDep,
        actor: ActorDep,
        owner_kind: FromPath[OwnerKind],
        owner_id: FromPath[UUID],
        data: JSONBody[NewRedemption],
    ) -> Response[RedemptionResult]:
        items = tuple(i.domain() for i in data.items)
        redemption, account, duplicate = await PointsService(container).redeem(
            actor, owner_kind, owner_id, data.redemption_id, items
        )
        result = redemption_result(redemption, account, duplicate=duplicate)
        return Response(result, status_code=200 if duplicate else 201)

    @post(
        "/redemptions/{redemption_id:uuid}/cancel",
        operation_id="cancelRedemption",
        status_code=200,
        summary="Refund a redemption (once)",
        responses=WRITE_ERRORS,
    )
    async def cancel(
        self,
        container: ContainerDep,
        actor: ActorDep,
        owner_kind: FromPath[OwnerKind],
        owner_id: FromPath[UUID],
        redemption_id: FromPath[UUID],
        data: JSONBody[CancelRedemption],
    ) -> RedemptionResult:
        redemption, account = await PointsService(container).cancel(
            actor, owner_kind, owner_id, redemption_id, data.reason
        )
        return redemption_result(redemption, account)
