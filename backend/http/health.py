"""Liveness and readiness: the database, the object store and projection lag."""

from __future__ import annotations

import msgspec
from anyio import to_thread
from litestar import Controller, get

from backend.http.deps import ContainerDep

__all__ = ["HealthController", "HealthReport", "ProjectionLag"]


class ProjectionLag(msgspec.Struct, kw_only=True):
    name: str
    position: int
    lag: int


class HealthReport(msgspec.Struct, kw_only=True):
    status: str
    database: bool
    object_store: bool
    head_position: int
    projections: list[ProjectionLag]


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get(operation_id="getHealth", summary="Service health and projection lag")
    async def health(self, container: ContainerDep) -> HealthReport:
        head = await container.runner.head()
        positions = await container.runner.positions()
        s3_ok = await to_thread.run_sync(container.objects.healthy)
        lags = [
            ProjectionLag(name=n, position=p, lag=head - p) for n, p in sorted(positions.items())
        ]
        return HealthReport(
            status="ok" if s3_ok else "degraded",
            database=True,
            object_store=s3_ok,
            head_position=head,
            projections=lags,
        )
