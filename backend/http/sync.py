"""Offline sync endpoints (docs/sync-protocol.md): push, pull, review queue, device status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, cast
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.responses import READ_ERRORS, WRITE_ERRORS, error_responses
from backend.http.sync_schemas import (
    DeviceStatusPage,
    DeviceStatusView,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    RejectReview,
    ReviewItemView,
    ReviewPage,
)
from backend.services.sync_pull import SyncPullService
from backend.services.sync_push import SyncPushService
from backend.services.sync_review import SyncReviewService

__all__ = ["SyncController"]

# Only authentication, the protocol version, the device binding or a malformed envelope fail
# a push or pull as a whole; everything else is answered per item.
_SYNC_ERRORS = error_responses(400, 401, 403, 413)
HeldStatus = Literal["review", "deferred", "conflict"]


def review_item(row: dict[str, Any]) -> ReviewItemView:
    return msgspec.convert(
        {**row, "payload": row["body"].get("payload", {}), "type": row["event_type"],
         "waiting_for": [dict(zip(("kind", "id"), w.split(":", 1), strict=True))
                         for w in row["waiting_for"]]},
        ReviewItemView, strict=False,
    )  # fmt: skip


class SyncController(Controller):
    path = "/v1/sync"
    tags = ["sync"]
    dependencies = actor_dependency
    security = BEARER

    @post(
        "/push",
        operation_id="syncPush",
        status_code=200,
        summary="Push outbox events; one result per event (never fails for one bad event)",
        responses=_SYNC_ERRORS,
    )
    async def push(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[PushRequest]
    ) -> PushResponse:
        results, checkpoint, offset = await SyncPushService(container).push(actor, data)
        return PushResponse(
            results=results, write_checkpoint=checkpoint, server_time=datetime.now(UTC),
            clock_offset_ms=offset,
        )  # fmt: skip

    @post(
        "/pull",
        operation_id="syncPull",
        status_code=200,
        summary="Pull a page of your buckets' changes from a signed cursor",
        responses=_SYNC_ERRORS,
    )
    async def pull(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[PullRequest]
    ) -> Response[PullResponse]:
        # The page comes encoded (each row once): sent as it is, shaped as PullResponse.
        raw = await SyncPullService(container).pull(actor, data)
        return Response(cast(Any, raw), media_type=MediaType.JSON)

    @get(
        "/review",
        operation_id="listSyncReview",
        summary="Pushed events held for review (or deferred) in your scope",
        responses=READ_ERRORS,
    )
    async def list_review(
        self,
        container: ContainerDep,
        actor: ActorDep,
        status: FromQuery[HeldStatus] = "review",
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> ReviewPage:
        total, rows = await SyncReviewService(container).list(
            actor, statuses=(status,), limit=limit, offset=offset
        )
        return ReviewPage(
            total=total, limit=limit, offset=offset, items=[review_item(r) for r in rows]
        )

    @post(
        "/review/{event_id:uuid}/accept",
        operation_id="acceptSyncReview",
        status_code=200,
        summary="Apply a held event as its author captured it (you are recorded as reviewer)",
        responses=WRITE_ERRORS,
    )
    async def accept(
        self, container: ContainerDep, actor: ActorDep, event_id: FromPath[UUID]
    ) -> ReviewItemView:
        return review_item(await SyncReviewService(container).accept(actor, event_id))

    @post(
        "/review/{event_id:uuid}/reject",
        operation_id="rejectSyncReview",
        status_code=200,
        summary="Reject a held event; its author sees it rejected",
        responses=WRITE_ERRORS,
    )
    async def reject(
        self,
        container: ContainerDep,
        actor: ActorDep,
        event_id: FromPath[UUID],
        data: JSONBody[RejectReview],
    ) -> ReviewItemView:
        row = await SyncReviewService(container).reject(actor, event_id, data.reason)
        return review_item(row)

    @get(
        "/devices",
        operation_id="listSyncDevices",
        summary="Per-device sync outcomes, last contact and clock offset in your scope",
        responses=READ_ERRORS,
    )
    async def devices(
        self,
        container: ContainerDep,
        actor: ActorDep,
        staff_id: FromQuery[UUID | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> DeviceStatusPage:
        total, rows = await SyncReviewService(container).devices(
            actor, staff_id=staff_id, limit=limit, offset=offset
        )
        items = [msgspec.convert(r, DeviceStatusView, strict=False) for r in rows]
        return DeviceStatusPage(total=total, limit=limit, offset=offset, items=items)
