"""The composition root: the one place that builds pools, clients and services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
import httpx
from anyio import to_thread

from backend.auth import AccessTokenCodec, WeChatClient
from backend.clock import Clock, SystemClock
from backend.log_redaction import install_url_redaction
from backend.settings import Settings
from projections import all_projections
from projections.engine import ProjectionRunner
from storage.db import apply_migrations, create_pool
from storage.db_roles import protect_event_table
from storage.eventstore import EventLog, event_store_env
from storage.objects import ObjectStore, S3ObjectStore

__all__ = ["Container", "container_lifespan"]

log = logging.getLogger(__name__)


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
    clock: Clock
    services: dict[str, Any] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def container_lifespan(
    settings: Settings, *, database_url: str, s3_endpoint: str, run_workers: bool = True
) -> AsyncIterator[Container]:
    """Build everything, start the projection workers, and tear it all down on exit."""
    install_url_redaction()  # presigned S3 URLs are logged by httpx; their signature is a key
    event_log = await _open_event_log(settings, database_url)
    pool = await create_pool(database_url)
    http = httpx.AsyncClient(timeout=10.0)
    try:
        objects = S3ObjectStore(
            s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            bucket=settings.s3_bucket,
        )
        await to_thread.run_sync(objects.ensure_bucket)
        runner = ProjectionRunner(pool, all_projections(settings.business_zone))
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
            clock=SystemClock(settings.business_zone),
        )
        async with _workers(container, enabled=run_workers):
            yield container
    finally:
        await http.aclose()
        await pool.close()
        await to_thread.run_sync(event_log.close)


async def _open_event_log(settings: Settings, database_url: str) -> EventLog:
    """Create the event table and run migrations as the owner role, then open the log as the
    application's role (SELECT + INSERT only; storage/db_roles.py)."""
    from backend.runtime import owner_database_url  # runtime starts processes: import it late

    owner_url = owner_database_url(settings, database_url)
    split = owner_url != database_url
    if not split and settings.database_url is not None:
        log.warning(
            "DATABASE_OWNER_URL is not set: the server runs as the event table's owner, so the "
            "event log is protected only by its append-only trigger (see docs/evidence.md)"
        )
    # The owner creates the table, its types and functions; the app role may not.
    owner_log = await to_thread.run_sync(lambda: EventLog(env=event_store_env(owner_url)))
    try:
        app_role = unquote(urlsplit(database_url).username or "") if split else None
        await _migrate_and_protect(owner_url, app_role=app_role)
    except BaseException:
        await to_thread.run_sync(owner_log.close)
        raise
    if not split:
        return owner_log
    await to_thread.run_sync(owner_log.close)
    env = event_store_env(database_url, create_table=False)
    return await to_thread.run_sync(lambda: EventLog(env=env, guarded_lock=True))


async def _migrate_and_protect(owner_url: str, *, app_role: str | None) -> None:
    owner_pool = await create_pool(owner_url, min_size=1, max_size=1)
    try:
        await apply_migrations(owner_pool)
        async with owner_pool.acquire() as conn:
            await protect_event_table(conn, app_role=app_role)
    finally:
        await owner_pool.close()


@contextlib.asynccontextmanager
async def _workers(container: Container, *, enabled: bool) -> AsyncIterator[None]:
    if not enabled:
        yield
        return
    from backend.workers import sealer, sla_scheduler  # import this module: import late

    stop = asyncio.Event()
    task = asyncio.create_task(container.runner.run(stop, database_url=container.database_url))
    scheduler = asyncio.create_task(sla_scheduler.run_forever(container, stop))
    sealing = asyncio.create_task(sealer.run_forever(container, stop))
    from backend.services import sync_release  # imports this module: import late

    releasing = asyncio.create_task(sync_release.run_forever(container, stop))
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
        # Each sealed batch is one transaction: a cancelled one rolls back and is redone.
        sealing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sealing
        # Each release or decision is one atomic save: a cancelled pass loses nothing.
        releasing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await releasing
