"""Liveness and readiness: the database, the object store and projection lag."""

from __future__ import annotations

import asyncpg
import msgspec
from anyio import to_thread
from litestar import Controller, get

from backend.errors import ApiError
from backend.http.deps import ContainerDep
from backend.http.responses import error_responses

__all__ = ["HealthController", "HealthReport", "ProjectionLag"]


class ProjectionLag(msgspec.Struct, kw_only=True):
    name: str
    position: int
    lag: int
    error: str | None = None
    """Set while the projection is stopped at an event it cannot fold."""


class HealthReport(msgspec.Struct, kw_only=True):
    status: str
    database: bool
    object_store: bool
    head_position: int
    projections: list[ProjectionLag]


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get(
        operation_id="getHealth",
        summary="Service health and projection lag",
        responses=error_responses(503),
    )
    async def health(self, container: ContainerDep) -> HealthReport:
        s3_ok = await to_thread.run_sync(container.objects.healthy)
        try:
            head = await container.runner.head()
            positions = await container.runner.positions()
            failing = await container.runner.failing()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            raise ApiError(
                50320, "database unavailable", database=False, object_store=s3_ok
            ) from None
        if not s3_ok:
            raise ApiError(50320, "object store unavailable", database=True, object_store=False)
        lags = [
            ProjectionLag(name=n, position=p, lag=head - p, error=failing.get(n))
            for n, p in sorted(positions.items())
        ]
        return HealthReport(
            status="degraded" if failing else "ok",
            database=True,
            object_store=True,
            head_position=head,
            projections=lags,
        )
