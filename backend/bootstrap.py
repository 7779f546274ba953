"""The composition root: the one place that builds pools, clients and services."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from anyio import to_thread

from backend.auth import AccessTokenCodec, WeChatClient
from backend.settings import Settings
from projections import ALL_PROJECTIONS
from projections.engine import ProjectionRunner
from storage.db import apply_migrations, create_pool
from storage.eventstore import EventLog, event_store_env
from storage.objects import ObjectStore, S3ObjectStore

__all__ = ["Container", "container_lifespan"]


@dataclass
class Container:
    settings: Settings
    database_url: str
    s3_endpoint: str
    event_log: EventLog
    pool: asyncpg.Pool
    objects: ObjectStore
    runner: ProjectionRunner
    tokens: AccessTokenCodec
    wechat: WeChatClient
    http: httpx.AsyncClient
    services: dict[str, Any] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def container_lifespan(
    settings: Settings, *, database_url: str, s3_endpoint: str, run_workers: bool = True
) -> AsyncIterator[Container]:
    """Build everything, start the projection workers, and tear it all down on exit."""
    event_log = await to_thread.run_sync(
        lambda: EventLog(env=event_store_env(database_url))
    )  # creates the event table
    pool = await create_pool(database_url)
    http = httpx.AsyncClient(timeout=10.0)
    try:
        await apply_migrations(pool)
        objects = S3ObjectStore(
            s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            bucket=settings.s3_bucket,
        )
        await to_thread.run_sync(objects.ensure_bucket)
        runner = ProjectionRunner(pool, [p() for p in ALL_PROJECTIONS])
        await runner.ensure_tables()
        container = Container(
            settings=settings,
            database_url=database_url,
            s3_endpoint=s3_endpoint,
            event_log=event_log,
            pool=pool,
            objects=objects,
            runner=runner,
            tokens=AccessTokenCodec({"k1": settings.token_secret}),
            wechat=WeChatClient(
                base_url=settings.wechat_base_url,
                appid=settings.wechat_appid,
                secret=settings.wechat_secret,
                client=http,
            ),
            http=http,
        )
        async with _workers(container, enabled=run_workers):
            yield container
    finally:
        await http.aclose()
        await pool.close()
        await to_thread.run_sync(event_log.close)


@contextlib.asynccontextmanager
async def _workers(container: Container, *, enabled: bool) -> AsyncIterator[None]:
    if not enabled:
        yield
        return
    from backend.workers import sla_scheduler  # imports this module: import it late

    stop = asyncio.Event()
    task = asyncio.create_task(container.runner.run(stop, database_url=container.database_url))
    scheduler = asyncio.create_task(sla_scheduler.run_forever(container, stop))
    try:
        yield
    finally:
        stop.set()
        container.runner.wake()
        await asyncio.wait_for(task, timeout=10)
        # A pass may be mid-way; each case it records is one atomic save, so stop it here.
        scheduler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await scheduler
