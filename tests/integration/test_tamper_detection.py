"""A database superuser rewrites history; the offline verifier of an evidence bundle names it.

Each story seals a fresh case with a photo, exports its bundle as the auditor (it verifies),
then tampers as the superuser the test services connect as — switching the append-only trigger
off, exactly what the app role and the table owner cannot do — and exports again: verification
fails and names the first bad position or object.

The module runs on a database of its own, in the two-role deployment shape (owner + app role),
so the rewritten history never reaches the log other modules share.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from anyio import to_thread

from backend.app import create_app_for
from backend.bootstrap import Container, container_lifespan
from backend.cli import main
from backend.services import reference
from backend.services.audit_log import key_ring
from backend.settings import Settings
from backend.verify import LogTampered, check_log
from backend.workers import sealer
from storage.bundle import BundleError
from storage.bundle_verify import VerifyReport, verify_bundle
from storage.eventstore import EVENTS_TABLE
from storage.media import original_key
from tests.integration.test_case_api import done, report, upload
from tests.integration.test_event_immutability import TwoRoleDatabase, make_two_role_database
from tests.support.households import household_body, register
from tests.support.world import World, build_world

TRIGGER = f"{EVENTS_TABLE}_append_only"
TAMPERED: list[int] = []
"""Positions the stories below rewrote, in the order they did (the full-log check's subject)."""


@dataclass(frozen=True)
class SealedCase:
    case_id: str
    photo: str
    positions: list[int]
    """The case's own events, in log order (version 1 first)."""


@pytest.fixture(scope="module")
async def own_database(settings: Settings) -> TwoRoleDatabase:
    assert settings.database_url is not None
    return await make_two_role_database(settings.database_url)


@pytest.fixture(scope="module")
async def container(settings: Settings, own_database: TwoRoleDatabase) -> AsyncIterator[Container]:
    assert settings.s3_endpoint is not None
    db = own_database
    split = dataclasses.replace(settings, database_url=db.app_url, database_owner_url=db.owner_url)
    async with container_lifespan(
        split, database_url=db.app_url, s3_endpoint=settings.s3_endpoint
    ) as built:
        await reference.ensure_default_categories(built)
        yield built


@pytest.fixture(scope="module")
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app_for(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture(scope="module")
async def world(container: Container) -> World:
    return await build_world(container)


@pytest.fixture(scope="module")
def superuser_url(own_database: TwoRoleDatabase) -> str:
    return own_database.superuser_url


@contextlib.asynccontextmanager
async def superuser(url: str) -> AsyncIterator[asyncpg.Connection]:
    """The test database's superuser, with the append-only trigger switched off meanwhile."""
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        await conn.execute(f"ALTER TABLE {EVENTS_TABLE} DISABLE TRIGGER {TRIGGER}")
        try:
            yield conn
        finally:
            await conn.execute(f"ALTER TABLE {EVENTS_TABLE} ENABLE TRIGGER {TRIGGER}")
    finally:
        await conn.close()


async def sealed_case(client: httpx.AsyncClient, world: World, container: Container) -> SealedCase:
    member = world.headers["member_a1"]
    photo = await upload(client, member)
    case = await report(client, member, photos=[photo])
    await done(client, world.headers["supervisor"], case["id"], "accept")
    await sealer.seal(container, wait=True, force_checkpoint=True)
    rows = await container.pool.fetch(
        f"SELECT notification_id FROM {EVENTS_TABLE} WHERE originator_id = $1"
        " ORDER BY originator_version",
        case["id"],
    )
    return SealedCase(case["id"], photo, [r["notification_id"] for r in rows])


async def export(client: httpx.AsyncClient, world: World, body: dict[str, Any]) -> bytes:
    response = await client.post(
        "/v1/audit/bundles", headers=world.headers["auditor"], json={"reason": "纪检调查"} | body
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    return response.content


def verify(container: Container, data: bytes) -> VerifyReport:
    vkey = key_ring(container).active.verifier.vkey
    return verify_bundle(io.BytesIO(data), keys=[vkey])


async def test_an_untouched_case_bundle_verifies(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    # Given a sealed case with a photo
    case = await sealed_case(client, world, container)
    # When the auditor exports its bundle and verifies it offline
    result = verify(container, await export(client, world, {"case_id": case.case_id}))
    # And the whole stored log checks out against the signed checkpoint
    whole = await check_log(container.database_url, keys=[key_ring(container).active.verifier.vkey])
    assert whole.events >= whole.tree_size > 0
    # Then both case events and the photo check out against a signed checkpoint
    assert result.events >= 2
    assert result.photos == 1
    assert result.subject["id"] == case.case_id
    assert result.trusted_keys == "given"


async def test_period_and_household_bundles_verify(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    # Given a sealed case and today's other events
    await sealed_case(client, world, container)
    today = container.clock.today().isoformat()  # the business date the period is cut by
    # When the auditor exports today's period
    period = verify(
        container, await export(client, world, {"period": {"from": today, "to": today}})
    )
    # Then every event of the day verifies (no record is required to be complete); this runs
    # before the stories below tamper with today's events
    assert period.subject["kind"] == "period"
    assert period.events >= 2
    # And a household's bundle verifies too
    hid = (await register(client, world.headers["head_a"], household_body(world.grid_a1)))["id"]
    await sealer.seal(container, wait=True, force_checkpoint=True)
    household = verify(container, await export(client, world, {"household_id": str(hid)}))
    assert household.subject["kind"] == "household"
    assert household.events >= 1


async def test_one_edited_byte_of_an_event_is_named_by_position(
    client: httpx.AsyncClient, world: World, container: Container, superuser_url: str
) -> None:
    case = await sealed_case(client, world, container)
    before = await export(client, world, {"case_id": case.case_id})
    # When a superuser edits one byte of the report event's payload
    first = case.positions[0]
    async with superuser(superuser_url) as su:
        state = bytes(
            await su.fetchval(f"SELECT state FROM {EVENTS_TABLE} WHERE notification_id = $1", first)
        )
        forged = state.replace(b"\xe6\x9d\x91\xe5\x8f\xa3", b"\xe6\x9d\x91\xe5\x8f\xa4", 1)
        assert forged != state
        await su.execute(
            f"UPDATE {EVENTS_TABLE} SET state = $2 WHERE notification_id = $1", first, forged
        )
    # Then the bundle exported before still verifies (it holds the original record) ...
    assert verify(container, before).events >= 2
    TAMPERED.append(first)
    # ... and a re-export fails, naming the edited position
    after = await export(client, world, {"case_id": case.case_id})
    with pytest.raises(BundleError, match=f"event at position {first} .*inclusion proof fails"):
        verify(container, after)


async def test_a_deleted_event_is_named(
    client: httpx.AsyncClient, world: World, container: Container, superuser_url: str
) -> None:
    case = await sealed_case(client, world, container)
    first, second = case.positions[:2]
    # When a superuser deletes the case's first event
    async with superuser(superuser_url) as su:
        await su.execute(f"DELETE FROM {EVENTS_TABLE} WHERE notification_id = $1", first)
    TAMPERED.append(first)
    # Then the re-exported case starts at version 2: the gap is named at the next position
    after = await export(client, world, {"case_id": case.case_id})
    with pytest.raises(BundleError, match=f"position {second}: .* version 1 was expected"):
        verify(container, after)


async def test_two_swapped_events_are_named(
    client: httpx.AsyncClient, world: World, container: Container, superuser_url: str
) -> None:
    case = await sealed_case(client, world, container)
    first, second = case.positions[:2]
    # When a superuser swaps the stored payloads of the case's two events
    async with superuser(superuser_url) as su, su.transaction():
        rows = await su.fetch(
            f"SELECT notification_id, topic, state FROM {EVENTS_TABLE}"
            " WHERE notification_id = ANY($1::bigint[]) ORDER BY notification_id",
            [first, second],
        )
        for row, other in zip(rows, reversed(rows), strict=True):
            await su.execute(
                f"UPDATE {EVENTS_TABLE} SET topic = $2, state = $3 WHERE notification_id = $1",
                row["notification_id"],
                other["topic"],
                other["state"],
            )
    TAMPERED.append(first)
    # Then verification fails at the first swapped position
    after = await export(client, world, {"case_id": case.case_id})
    with pytest.raises(BundleError, match=f"event at position {first} .*inclusion proof fails"):
        verify(container, after)


async def test_a_replaced_photo_is_named(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    case = await sealed_case(client, world, container)
    # When someone with the bucket's keys overwrites the photo
    forged = b"\x89PNG\r\n\x1a\n not the photo that was taken"
    await _put(container, original_key(case.photo), forged)
    # Then the re-exported bundle names the photo
    after = await export(client, world, {"case_id": case.case_id})
    with pytest.raises(BundleError, match=f"photo {case.photo} .*replaced"):
        verify(container, after)


async def _put(container: Container, key: str, data: bytes) -> None:
    objects = container.objects
    await to_thread.run_sync(
        lambda: objects.put(key, io.BytesIO(data), length=len(data), content_type="image/png")
    )


async def test_the_full_log_check_names_the_first_rewritten_position(
    container: Container, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the stories above rewrote events at these positions (an untouched log verified)
    assert len(TAMPERED) == 3
    vkey = key_ring(container).active.verifier.vkey
    # When the operator checks the whole stored log against its latest signed checkpoint
    with pytest.raises(LogTampered, match=f"position {TAMPERED[0]} .*altered"):
        await check_log(container.database_url, keys=[vkey])
    # Then the command line says the same, with exit status 1
    monkeypatch.setenv("DATABASE_URL", container.database_url)
    code = await to_thread.run_sync(lambda: main(["verify", "--log", "--key", vkey]))
    assert code == 1
    assert f"position {TAMPERED[0]}" in capsys.readouterr().err
