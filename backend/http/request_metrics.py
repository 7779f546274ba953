"""Request latency per operation, for ``/metrics``: a histogram of durations and a counter of
answers, both labelled with the route's ``operation_id``.

Labels come from the route table, never from the request: a handler without an operation id
(Litestar's automatic OPTIONS, the schema pages) is named by its method and path template, and
every request no route matches (404 and 405 of the router) is counted under the one label
``unmatched``, so a client probing random paths cannot grow the number of series.

One registry per app, not prometheus_client's process-global default: tests build several apps
in one process (a second app would register the same names again), and each app's figures are
its own. The process figures (CPU, resident memory, open files, start time) are collected into
the same registry.

The clock starts when the route's middleware stack is entered (right after routing) and stops
when the last body message goes out, so a streamed export or a slow upload counts whole; the
status is the one sent, including answers the exception handlers made.
"""

from __future__ import annotations

import time
from typing import Final

from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector

__all__ = ["UNMATCHED", "RequestMetrics", "operation_label"]

UNMATCHED: Final = "unmatched"
# Phones on 2G upload photos for tens of seconds; everything else should answer in milliseconds.
BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_STARTED: Final = "gridledger.request_started"
_STATUS: Final = "gridledger.response_status"


class RequestMetrics(InitPluginProtocol):
    """A Litestar plugin: install one per app (``plugins=[RequestMetrics()]``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.latency = Histogram(
            "gridledger_http_request_duration_seconds",
            "Time from routing to the last byte of the answer, per operation.",
            ["operation_id"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.answered = Counter(
            "gridledger_http_requests",
            "Requests answered, per operation and status class (2xx, 4xx, ...).",
            ["operation_id", "status"],
            registry=self.registry,
        )

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.middleware.insert(0, self._timed)  # outermost: body reading counts too
        app_config.before_send.append(self._sent)
        return app_config

    def _timed(self, app: ASGIApp) -> ASGIApp:
        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            scope["state"][_STARTED] = time.perf_counter()
            await app(scope, receive, send)

        return timed

    async def _sent(self, message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            scope["state"][_STATUS] = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self._observe(scope)

    def _observe(self, scope: Scope) -> None:
        state, operation = scope["state"], operation_label(scope)
        self.answered.labels(operation, f"{state.get(_STATUS, 0) // 100}xx").inc()
        started = state.get(_STARTED)
        if started is not None:  # None: no route matched, the router answered at once
            self.latency.labels(operation).observe(time.perf_counter() - started)


def operation_label(scope: Scope) -> str:
    """The route's operation id, else its method and path template; ``unmatched`` if none."""
    handler = scope.get("route_handler")
    if handler is None:
        return UNMATCHED
    operation_id = getattr(handler, "operation_id", None)
    if isinstance(operation_id, str):
        return operation_id
    method = scope.get("method", "")
    return f"{method} {scope.get('path_template', '')}".strip()
