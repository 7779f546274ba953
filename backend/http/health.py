"""Liveness and readiness: the database, the object store and projection lag; and warnings
that need an operator although the service runs (a year of SLA deadlines without holidays)."""

from __future__ import annotations

import asyncpg
import msgspec
from anyio import to_thread
from litestar import Controller, get

from backend.errors import ApiError
from backend.http.deps import ContainerDep
from backend.http.responses import error_responses
from backend.services.reference import holiday_data_gaps

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
    holiday_data_missing: list[int] = []
    """Years inside the SLA horizon without holiday data: deadlines there count Monday–Friday
    only and are marked provisional until an admin enters the year's arrangement."""
    warnings: list[str] = []
    """What an operator should act on; the service is up all the same."""


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
            gaps = await holiday_data_gaps(container)
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
            holiday_data_missing=gaps,
            warnings=[_no_holidays(year) for year in gaps],
        )


def _no_holidays(year: int) -> str:
    return (
        f"no holiday data for {year}: SLA deadlines in {year} count Monday-Friday only and "
        f"are provisional; enter the State Council's arrangement with "
        f"POST /v1/reference/calendar/{year}"
    )
