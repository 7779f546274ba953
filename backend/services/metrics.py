"""Operational figures: projection positions and lag, failing projections, the process.

Exposed two ways: Prometheus' text exposition format at ``/metrics`` and JSON at
``/v1/projections/status``. Who may read them: an admin or supervisor access token, or, for a
scraper that cannot log in, the ``GRIDLEDGER_METRICS_TOKEN`` bearer token (compared in
constant time). Nothing here is personal data, but lag and error texts tell an outsider about
load and internals, so neither is public.
"""

from __future__ import annotations

import hmac
import os
import time
from dataclasses import dataclass
from datetime import datetime

import psutil  # type: ignore[import-untyped]  # no stubs in the lock file

from backend.bootstrap import Container
from backend.services.auth import auth_service
from backend.services.scope import require_role

__all__ = ["STATUS_ROLES", "MetricsService", "ProjectionState", "Status", "render_prometheus"]

STATUS_ROLES = ("admin", "supervisor")
_PROCESS = psutil.Process(os.getpid())


@dataclass(frozen=True, kw_only=True)
class ProjectionState:
    name: str
    position: int
    lag: int
    updated_at: datetime | None
    error: str | None
    failed_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class Status:
    head_position: int
    projections: list[ProjectionState]


class MetricsService:
    def __init__(self, container: Container) -> None:
        self.container = container

    async def authorize(self, authorization: str | None) -> None:
        """The metrics token, or an admin/supervisor access token (else 401/403)."""
        token = self.container.settings.metrics_token
        scheme, _, presented = (authorization or "").partition(" ")
        bearer = scheme.lower() == "bearer"
        if token and bearer and hmac.compare_digest(presented.strip().encode(), token.encode()):
            return
        actor = await auth_service(self.container).authenticate(authorization)
        require_role(actor, *STATUS_ROLES)

    async def status(self) -> Status:
        runner = self.container.runner
        head = await runner.head()
        rows = await self.container.pool.fetch(
            "SELECT name, position, updated_at, last_error, failed_at FROM projection_positions "
            "ORDER BY name"
        )
        states = [
            ProjectionState(
                name=r["name"],
                position=r["position"],
                lag=max(head - r["position"], 0),
                updated_at=r["updated_at"],
                error=r["last_error"],
                failed_at=r["failed_at"],
            )
            for r in rows
            if r["name"] in runner.projections
        ]
        return Status(head_position=head, projections=states)

    async def exposition(self) -> str:
        return render_prometheus(await self.status(), pool_size=self.container.pool.get_size(),
                                 pool_idle=self.container.pool.get_idle_size())  # fmt: skip


def _family(name: str, help_text: str, kind: str, samples: list[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    return lines + [f"{name}{labels} {_number(value)}" for labels, value in samples]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render_prometheus(status: Status, *, pool_size: int, pool_idle: int) -> str:
    """Prometheus text exposition format 0.0.4 (one family per metric, HELP and TYPE first)."""
    per = [(f'{{projection="{p.name}"}}', p) for p in status.projections]
    with _PROCESS.oneshot():
        cpu = _PROCESS.cpu_times()
        rss, fds, started = _PROCESS.memory_info().rss, _PROCESS.num_fds(), _PROCESS.create_time()
    families = [
        _family("gridledger_log_head_position", "Highest position (notification id) in the "
                "event log.", "gauge", [("", status.head_position)]),
        _family("gridledger_projection_position", "Last log position folded by the projection.",
                "gauge", [(lb, p.position) for lb, p in per]),
        _family("gridledger_projection_lag_events", "Events in the log the projection has not "
                "folded yet.", "gauge", [(lb, p.lag) for lb, p in per]),
        _family("gridledger_projection_failing", "1 while the projection is stopped at an event "
                "it cannot fold.", "gauge", [(lb, int(p.error is not None)) for lb, p in per]),
        _family("gridledger_projections_failing", "Projections stopped at an event.", "gauge",
                [("", sum(p.error is not None for p in status.projections))]),
        _family("gridledger_db_pool_connections", "Connections in the query pool.", "gauge",
                [('{state="open"}', pool_size), ('{state="idle"}', pool_idle)]),
        _family("process_cpu_seconds_total", "User and system CPU time spent.", "counter",
                [("", cpu.user + cpu.system)]),
        _family("process_resident_memory_bytes", "Resident memory size.", "gauge", [("", rss)]),
        _family("process_open_fds", "Open file descriptors.", "gauge", [("", fds)]),
        _family("process_start_time_seconds", "Start time since the Unix epoch.", "gauge",
                [("", started)]),
        _family("gridledger_scrape_timestamp_seconds", "When these figures were taken.",
                "gauge", [("", round(time.time(), 3))]),
    ]  # fmt: skip
    return "\n".join(line for family in families for line in family) + "\n"
