"""The access audit for auditors: who read, revealed or exported what, why and when."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from backend.http.bundle_schemas import AccessPage
from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.responses import READ_ERRORS
from backend.http.wire import PLAIN_TEXT
from backend.services import access_audit

__all__ = ["AccessAuditController", "request_id"]


def request_id(request: Request[Any, Any, Any]) -> str:
    """The caller's ``X-Request-ID`` (kept short), or a fresh one, to tie audit rows to logs."""
    given = request.headers.get("x-request-id", "")
    return given[:100] if given.isprintable() and given else uuid.uuid4().hex


class AccessAuditController(Controller):
    path = "/v1/audit/access"
    tags = ["evidence log"]
    dependencies = actor_dependency
    security = BEARER

    @get(
        operation_id="listAccessAudit",
        summary="Reads of sensitive data, reveals and exports, newest first (auditor)",
        responses=READ_ERRORS,
    )
    async def list_access(
        self,
        container: ContainerDep,
        actor: ActorDep,
        actor_id: Annotated[UUID | None, QueryParameter(name="actor")] = None,
        subject: Annotated[
            str | None, QueryParameter(min_length=1, max_length=200, pattern=PLAIN_TEXT)
        ] = None,
        since: Annotated[datetime | None, QueryParameter(name="from")] = None,
        until: Annotated[datetime | None, QueryParameter(name="to")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> AccessPage:
        q = access_audit.AccessQuery(
            actor_id=actor_id,
            subject_id=subject,
            since=since,
            until=until,
            limit=limit + 1,
            offset=offset,
        )
        items = await access_audit.query_as(container.pool, actor, q)
        more = len(items) > limit
        return AccessPage(items=items[:limit], next_offset=offset + limit if more else None)
