"""Auditor endpoints of the evidence log: checkpoints, stored entries, inclusion and
consistency proofs, verifier keys. Auditor role only; every call is access-audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromQuery, PathParameter, QueryParameter

from backend.http.audit_log_schemas import OptionalTreeSize, Reason, TreeSize
from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.responses import READ_ERRORS
from backend.services.audit_log import (
    AuditLogService,
    CheckpointPage,
    CheckpointView,
    ConsistencyProofView,
    InclusionProofView,
    LogEntryView,
    LogKeys,
)

__all__ = ["AuditLogController"]


class AuditLogController(Controller):
    path = "/v1/audit/log"
    tags = ["evidence log"]
    dependencies = actor_dependency
    security = BEARER

    @get(
        "/checkpoints/latest",
        operation_id="getLatestLogCheckpoint",
        summary="The latest signed checkpoint",
        responses=READ_ERRORS,
    )
    async def latest(
        self, container: ContainerDep, actor: ActorDep, reason: Reason = None
    ) -> CheckpointView:
        return await AuditLogService(container).latest(actor, reason=reason)

    @get(
        "/checkpoints",
        operation_id="listLogCheckpoints",
        summary="Signed checkpoints, newest first",
        responses=READ_ERRORS,
    )
    async def history(
        self,
        container: ContainerDep,
        actor: ActorDep,
        before: Annotated[int | None, QueryParameter(ge=1, le=2**53)] = None,
        since: FromQuery[datetime | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        reason: Reason = None,
    ) -> CheckpointPage:
        return await AuditLogService(container).history(
            actor, before=before, since=since, limit=limit, reason=reason
        )

    @get(
        "/entries/{position:int}",
        operation_id="getLogEntry",
        summary="A sealed event exactly as stored, with its leaf",
        responses=READ_ERRORS,
    )
    async def entry(
        self,
        container: ContainerDep,
        actor: ActorDep,
        position: Annotated[int, PathParameter(ge=0, le=2**53)],
        reason: Reason = None,
    ) -> LogEntryView:
        return await AuditLogService(container).entry(actor, position, reason=reason)

    @get(
        "/proofs/inclusion",
        operation_id="getLogInclusionProof",
        summary="Inclusion proof of an event in a checkpointed tree (default: the latest)",
        responses=READ_ERRORS,
    )
    async def inclusion(
        self,
        container: ContainerDep,
        actor: ActorDep,
        position: Annotated[int, QueryParameter(ge=0, le=2**53)],
        tree_size: OptionalTreeSize = None,
        reason: Reason = None,
    ) -> InclusionProofView:
        return await AuditLogService(container).inclusion(
            actor, position, tree_size=tree_size, reason=reason
        )

    @get(
        "/proofs/consistency",
        operation_id="getLogConsistencyProof",
        summary="Consistency proof between two checkpointed tree sizes (second: the latest)",
        responses=READ_ERRORS,
    )
    async def consistency(
        self,
        container: ContainerDep,
        actor: ActorDep,
        first: TreeSize,
        second: OptionalTreeSize = None,
        reason: Reason = None,
    ) -> ConsistencyProofView:
        return await AuditLogService(container).consistency(
            actor, first=first, second=second, reason=reason
        )

    @get(
        "/keys",
        operation_id="listLogKeys",
        summary="Verifier keys of every checkpoint signing key, old and active",
        responses=READ_ERRORS,
    )
    async def keys(
        self, container: ContainerDep, actor: ActorDep, reason: Reason = None
    ) -> LogKeys:
        return await AuditLogService(container).keys(actor, reason=reason)
