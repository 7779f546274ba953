"""Shared fixtures. Integration, contract and e2e tests need the real PostgreSQL and S3 server
that ``scripts/test`` starts; without them they fail loudly instead of skipping.

The container (pools, event log, projection workers) is built on the test session's event loop
and the app is driven in-process through httpx's ASGI transport, so test code and handlers
share one loop and may both use the container.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from backend.app import create_app_for
from backend.bootstrap import Container, container_lifespan
from backend.settings import Settings, load_settings

_SERVICE_VARS = ("DATABASE_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY")


@pytest.fixture(scope="session")
def service_env() -> dict[str, str]:
    missing = [k for k in _SERVICE_VARS if not os.environ.get(k)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not set: run the suite through ./scripts/test, which "
            "starts PostgreSQL and S3",
            pytrace=False,
        )
    return {k: os.environ[k] for k in _SERVICE_VARS}


@pytest.fixture(scope="session")
def settings(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    var_dir: Path = tmp_path_factory.mktemp("var")
    return load_settings(
        {
            **service_env,
            "GRIDLEDGER_VAR_DIR": str(var_dir),
            "GRIDLEDGER_DEV_LOGIN": "1",
            "GRIDLEDGER_WECHAT_APPID": "wx-test",
            "GRIDLEDGER_WECHAT_SECRET": "test-secret",
        }
    )


@pytest.fixture(scope="session")
async def container(settings: Settings) -> AsyncIterator[Container]:
    assert settings.database_url is not None
    assert settings.s3_endpoint is not None
    async with container_lifespan(
        settings, database_url=settings.database_url, s3_endpoint=settings.s3_endpoint
    ) as built:
        yield built


@pytest.fixture(scope="session")
def app(container: Container) -> Litestar:
    return create_app_for(container)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
