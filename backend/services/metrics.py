"""Operational figures: projection positions and lag, failing projections, the query pool,
holiday data missing inside the SLA horizon; with the app's request latencies and process
figures (:mod:`backend.http.request_metrics`).

Exposed two ways: Prometheus' text exposition format at ``/metrics`` (prometheus_client's
encoders: text 0.0.4 by default, OpenMetrics when the scraper asks for it) and JSON at
``/v1/projections/status``. Who may read them: an admin or supervisor access token, or, for a
scraper that cannot log in, the ``GRIDLEDGER_METRICS_TOKEN`` bearer token (compared in
constant time). Nothing here is personal data, but lag and error texts tell an outsider about
load and internals, so neither is public.

The database figures are read at scrape time (asynchronously, before encoding) and handed to
the encoder as a collector of their own; nothing is cached between scrapes, so several API
processes behind one scrape target never disagree about the log.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from backend.bootstrap import Container
from backend.services.auth import auth_service
from backend.services.reference import holiday_data_gaps
from backend.services.scope import require_role

__all__ = ["STATUS_ROLES", "Figures", "MetricsService", "ProjectionState", "Status"]

STATUS_ROLES = ("admin", "supervisor")


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

    async def exposition(self, app_figures: Collector, *, accept: str | None) -> tuple[bytes, str]:
        """The scrape body and its content type: these figures, then the app's."""
        pool = self.container.pool
        figures = Figures(
            await self.status(),
            pool_size=pool.get_size(),
            pool_idle=pool.get_idle_size(),
            years_without_holidays=len(await holiday_data_gaps(self.container)),
        )
        encode, content_type = choose_encoder(accept or "")
        return encode(_Chain(figures, app_figures)), content_type


# Per projection: name, help, value.
_PER_PROJECTION: tuple[tuple[str, str, Callable[[ProjectionState], float]], ...] = (
    ("gridledger_projection_position", "Last log position folded by the projection.",
     lambda p: p.position),
    ("gridledger_projection_lag_events", "Events in the log the projection has not folded yet.",
     lambda p: p.lag),
    ("gridledger_projection_failing", "1 while the projection is stopped at an event it cannot "
     "fold.", lambda p: int(p.error is not None)),
)  # fmt: skip
_NO_HOLIDAYS = (
    "Years inside the SLA horizon without holiday data: their deadlines count Monday-Friday "
    "only and are provisional."
)


class Figures(Collector):
    """The figures read from the database for one scrape, as Prometheus metric families."""

    def __init__(
        self, status: Status, *, pool_size: int, pool_idle: int, years_without_holidays: int
    ) -> None:
        self.status = status
        self.pool = (pool_size, pool_idle)
        self.years_without_holidays = years_without_holidays

    def collect(self) -> Iterator[Metric]:
        status, per = self.status, self.status.projections
        yield _family(
            "gridledger_log_head_position",
            "Highest position (notification id) in the event log.",
            [((), status.head_position)],
        )
        for name, help_text, value in _PER_PROJECTION:
            yield _family(name, help_text, [((p.name,), value(p)) for p in per], "projection")
        yield _family(
            "gridledger_projections_failing",
            "Projections stopped at an event.",
            [((), sum(p.error is not None for p in per))],
        )
        yield _family(
            "gridledger_db_pool_connections",
            "Connections in the query pool.",
            [(("open",), self.pool[0]), (("idle",), self.pool[1])],
            "state",
        )
        yield _family(
            "gridledger_calendar_years_without_holiday_data",
            _NO_HOLIDAYS,
            [((), self.years_without_holidays)],
        )
        yield _family("gridledger_scrape_timestamp_seconds", "When these figures were taken.",
                      [((), round(time.time(), 3))])  # fmt: skip


def _family(
    name: str, help_text: str, samples: Iterable[tuple[tuple[str, ...], float]], *labels: str
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, help_text, labels=list(labels))
    for values, value in samples:
        family.add_metric(list(values), value)
    return family


class _Chain(Collector):
    """Several collectors encoded as one exposition (the encoders take a single collector)."""

    def __init__(self, *parts: Collector) -> None:
        self.parts = parts

    def collect(self) -> Iterator[Metric]:
        for part in self.parts:
            yield from part.collect()
