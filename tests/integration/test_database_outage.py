"""While PostgreSQL restarts or is unreachable the API answers 503 errcode 50395 ("retry
later"), never 500: the fault-injection harness saw 500s on pulls during a PostgreSQL restart.

The outage is real, not mocked: the app is built over a container whose query pool, or event
log, points at a loopback port where no database listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
import httpx
import pytest
from anyio import to_thread

from backend.app import create_app_for
from backend.bootstrap import Container
from backend.services.reference import ensure_default_categories
from storage.embedded import free_port
from storage.eventstore import EventLog, event_store_env
from tests.support.world import World


def _nowhere() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/gridledger"


async def _client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app_for(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def queries_down(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a query pool whose database is gone (min_size 0: connects on use)."""
    pool = await asyncpg.create_pool(_nowhere(), min_size=0, max_size=2)
    try:
        down = dataclasses.replace(container, pool=pool, services={})
        async for http in _client(down):
            yield http
    finally:
        await pool.close()


class Relay:
    """A TCP relay to PostgreSQL that can be cut: every connection through it dies and new
    ones are refused, as when the database host restarts."""

    def __init__(self, port: int) -> None:
        self.port, self.links = port, set[asyncio.StreamWriter]()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.links |= {writer, up_writer}
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def cut(self) -> None:
        self.server.close()
        for writer in self.links:
            writer.transport.abort()
        await self.server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


@pytest.fixture
async def event_store_down(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """The app with queries working but the event store's database cut off after it opened."""
    url = urlsplit(container.database_url)
    relay = Relay(url.port or 5432)
    relayed = url._replace(netloc=f"{url.netloc.rpartition('@')[0]}@{await relay.start()}")
    env = event_store_env(urlunsplit(relayed), pool_size=1, create_table=False)
    log = await to_thread.run_sync(lambda: EventLog(env={**env, "POSTGRES_CONNECT_TIMEOUT": "1"}))
    await relay.cut()
    try:
        down = dataclasses.replace(container, event_log=log, services={})
        async for http in _client(down):
            yield http
    finally:
        await to_thread.run_sync(log.close)


async def test_a_read_during_a_database_outage_answers_503_retry_later(
    world: World, queries_down: httpx.AsyncClient
) -> None:
    # given a grid member whose database has just gone away
    # when they read their households
    response = await queries_down.get("/v1/households", headers=world.headers["member_a1"])
    # then the answer says "unavailable, retry", not "internal error"
    assert response.status_code == 503, response.text
    assert response.json()["errcode"] == 50395


async def test_a_push_during_an_event_store_outage_answers_503_and_keeps_nothing_half_done(
    world: World,
    event_store_down: httpx.AsyncClient,
    client: httpx.AsyncClient,
    container: Container,
) -> None:
    # given a phone pushing a case report while the event store's database is unreachable
    event = {
        "event_id": str(uuid4()), "device_seq": 1, "type": "case.reported",
        "captured_at": "2026-11-25T08:00:00+00:00",
        "payload": {"category": "sanitation", "title": "垃圾", "description": "堆放",
                    "location": "村口"},
    }  # fmt: skip
    clock = "2026-11-25T08:00:00+00:00"
    body = {
        "protocol": 1,
        "device_id": "device-member_a1",
        "device_clock": clock,
        "events": [event],
    }
    headers = world.headers["member_a1"]
    await ensure_default_categories(container)
    # when it pushes
    response = await event_store_down.post("/v1/sync/push", headers=headers, json=body)
    # then it is told to retry, and the retry once the database is back is accepted once
    assert response.status_code == 503, response.text
    assert response.json()["errcode"] == 50395
    retried = await client.post("/v1/sync/push", headers=headers, json=body)
    assert retried.status_code == 200, retried.text
    assert [r["status"] for r in retried.json()["results"]] == ["accepted"], retried.text
