"""``/metrics`` (Prometheus text format) and ``/v1/projections/status`` (JSON).

Both need a bearer credential: an admin or supervisor access token, or for ``/metrics`` the
scrape token ``GRIDLEDGER_METRICS_TOKEN`` (see :mod:`backend.services.metrics`). ``/metrics``
adds this app's request latencies and process figures (:mod:`backend.http.request_metrics`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.enums import MediaType

from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.request_metrics import RequestMetrics
from backend.http.responses import error_responses
from backend.services.metrics import STATUS_ROLES, MetricsService
from backend.services.scope import require_role

__all__ = ["MetricsController", "ProjectionStatusController"]


class ProjectionStatusView(msgspec.Struct, kw_only=True):
    name: str
    position: int
    lag: int
    """Events in the log not folded yet."""
    updated_at: datetime | None
    error: str | None
    """Set while the projection is stopped at an event it cannot fold."""
    failed_at: datetime | None


class ProjectionStatusReport(msgspec.Struct, kw_only=True):
    head_position: int
    failing: int
    projections: list[ProjectionStatusView]


class MetricsController(Controller):
    path = "/metrics"
    tags = ["operations"]
    security = BEARER

    @get(
        operation_id="getMetrics",
        summary="Projection lag, request latency per operation and process figures in "
        "Prometheus text format (admin or supervisor token, or the metrics scrape token)",
        media_type=MediaType.TEXT,
        responses=error_responses(401, 403),
    )
    async def metrics(
        self, container: ContainerDep, request: Request[Any, Any, Any]
    ) -> Response[bytes]:
        service = MetricsService(container)
        await service.authorize(request.headers.get("authorization"))
        requests = request.app.plugins.get(RequestMetrics).registry
        body, content_type = await service.exposition(
            requests, accept=request.headers.get("accept")
        )
        return Response(body, media_type=content_type)


class ProjectionStatusController(Controller):
    path = "/v1/projections/status"
    tags = ["operations"]
    dependencies = actor_dependency
    security = BEARER

    @get(
        operation_id="getProjectionStatus",
        summary="Every projection's position, lag and error, and the log head",
        responses=error_responses(401, 403),
    )
    async def status(self, container: ContainerDep, actor: ActorDep) -> ProjectionStatusReport:
        require_role(actor, *STATUS_ROLES)
        status = await MetricsService(container).status()
        views = [msgspec.convert(p, ProjectionStatusView, from_attributes=True)
                 for p in status.projections]  # fmt: skip
        failing = sum(v.error is not None for v in views)
        return ProjectionStatusReport(
            head_position=status.head_position, failing=failing, projections=views
        )
