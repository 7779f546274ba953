"""The Litestar application: routes, OpenAPI, error mapping, and the container's lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components

from backend.bootstrap import Container, container_lifespan
from backend.errors import exception_handlers
from backend.http import route_handlers
from backend.http.body_deadline import BodyPace, body_deadline_middleware
from backend.http.guards import SECURITY_SCHEMES
from backend.http.openapi_links import publish_links
from backend.http.request_metrics import RequestMetrics
from backend.http.responses import declare_transient_errors
from backend.http.wire import close_request_schemas
from backend.services.reference import ensure_default_categories
from backend.settings import Settings

__all__ = ["create_app", "create_app_for"]


def provide_container(state: State) -> Container:
    container: Container = state.container
    return container


def create_app(
    settings: Settings,
    *,
    database_url: str,
    s3_endpoint: str,
    run_workers: bool = True,
    seed_demo: bool = False,
) -> Litestar:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with container_lifespan(
            settings, database_url=database_url, s3_endpoint=s3_endpoint, run_workers=run_workers
        ) as c:
            app.state.container = c
            # Reference data every deployment starts with (idempotent; admins change it later).
            await ensure_default_categories(c)
            if seed_demo:
                from backend.services.demo_seed import seed_demo_township

                await seed_demo_township(c)
            yield

    return _litestar(settings, lifespan=[lifespan])


def create_app_for(container: Container) -> Litestar:
    """An app over a container its caller owns (tests run both on one event loop)."""
    app = _litestar(container.settings, lifespan=[])
    app.state.container = container
    return app


def _litestar(settings: Settings, *, lifespan: list[Any]) -> Litestar:
    app = Litestar(
        route_handlers=route_handlers(settings),
        lifespan=lifespan,
        dependencies={"container": Provide(provide_container, sync_to_thread=False)},
        exception_handlers=exception_handlers,
        request_max_body_size=settings.max_body_bytes,
        middleware=[body_deadline_middleware(BodyPace.from_settings(settings))],
        plugins=[RequestMetrics()],  # one registry per app (backend/http/request_metrics.py)
        openapi_config=OpenAPIConfig(
            title="gridledger",
            version="1",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(security_schemes=dict(SECURITY_SCHEMES)),
        ),
        debug=False,
    )
    close_request_schemas(app)
    publish_links(app)  # create -> read/act links, for client authors and stateful fuzzing
    declare_transient_errors(app)
    return app
