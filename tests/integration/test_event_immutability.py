"""The event log is append-only at the database: the app role may only SELECT and INSERT it,
and a trigger refuses UPDATE, DELETE and TRUNCATE even to the table's owner.

Each module gets its own database with an owner and an app role made by the test's superuser
(the ``DATABASE_URL`` of the test services), so this runs the two-role deployment end to end.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from anyio import to_thread

from backend.bootstrap import Container, container_lifespan
from backend.settings import Settings
from storage.db_roles import APP_ROLE, DDL_GUARD_SQL, TRIGGER
from storage.embedded import EmbeddedPostgres, free_port
from storage.eventstore import EVENTS_TABLE
from tests.support.world import World, build_world


@dataclass(frozen=True)
class TwoRoleDatabase:
    superuser_url: str
    owner_url: str
    app_url: str


def _with_user(url: str, user: str, password: str, database: str) -> str:
    parts = urlsplit(url)
    netloc = f"{user}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", "", ""))


async def make_two_role_database(superuser_url: str) -> TwoRoleDatabase:
    """A fresh database owned by a fresh owner role, plus an app role that owns nothing."""
    tag, password = secrets.token_hex(4), secrets.token_hex(12)
    owner, app, database = f"own_{tag}", f"app_{tag}", f"imm_{tag}"
    conn = await asyncpg.connect(superuser_url)
    try:
        for role in (owner, app):
            await conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        await conn.execute(f"CREATE DATABASE {database} OWNER {owner}")
    finally:
        await conn.close()
    return TwoRoleDatabase(
        superuser_url=_with_user(superuser_url, "postgres", "", database),
        owner_url=_with_user(superuser_url, owner, password, database),
        app_url=_with_user(superuser_url, app, password, database),
    )


@pytest.fixture(scope="module")
async def two_roles(settings: Settings) -> TwoRoleDatabase:
    assert settings.database_url is not None
    return await make_two_role_database(settings.database_url)


@pytest.fixture(scope="module")
async def app_container(settings: Settings, two_roles: TwoRoleDatabase) -> AsyncIterator[Container]:
    assert settings.s3_endpoint is not None
    split = dataclasses.replace(
        settings, database_url=two_roles.app_url, database_owner_url=two_roles.owner_url
    )
    async with container_lifespan(
        split, database_url=two_roles.app_url, s3_endpoint=settings.s3_endpoint
    ) as built:
        yield built


@pytest.fixture(scope="module")
async def saved_world(app_container: Container) -> World:
    # Given a township saved through the ordinary write path, as the app role
    return await build_world(app_container)


async def test_normal_saves_work_as_the_app_role(
    app_container: Container, saved_world: World, two_roles: TwoRoleDatabase
) -> None:
    # Then its events are stored, read models folded them, and the app worked as the app role
    count = await app_container.pool.fetchval(f"SELECT count(*) FROM {EVENTS_TABLE}")
    assert count > 0
    assert await app_container.runner.wait_for(app_container.event_log.highest_position())
    user = await app_container.pool.fetchval("SELECT current_user")
    assert user == urlsplit(two_roles.app_url).username


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {EVENTS_TABLE} SET topic = topic",
        f"DELETE FROM {EVENTS_TABLE}",
        f"TRUNCATE {EVENTS_TABLE}",
    ],
)
async def test_app_role_may_not_rewrite_events(
    saved_world: World, two_roles: TwoRoleDatabase, statement: str
) -> None:
    # When the app role tries to rewrite history
    conn = await asyncpg.connect(two_roles.app_url)
    try:
        # Then the database refuses: no privilege
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {EVENTS_TABLE} SET state = state || '\\x00'::bytea",
        f"DELETE FROM {EVENTS_TABLE} WHERE notification_id = 1",
        f"TRUNCATE {EVENTS_TABLE}",
    ],
)
async def test_trigger_refuses_even_the_owner(
    saved_world: World, two_roles: TwoRoleDatabase, statement: str
) -> None:
    # When the table's owner tries to rewrite history
    conn = await asyncpg.connect(two_roles.owner_url)
    try:
        # Then the append-only trigger refuses it
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(statement)
    finally:
        await conn.close()


async def test_app_role_may_not_take_the_lock_itself_but_may_insert(
    saved_world: World, two_roles: TwoRoleDatabase
) -> None:
    # Given the app role in a transaction
    conn = await asyncpg.connect(two_roles.app_url)
    try:
        async with conn.transaction():
            # Then the owner's lock function takes the EXCLUSIVE lock on its behalf
            await conn.execute("SELECT gridledger_lock_events()")
            held = await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()"
                " AND relation = $1::regclass AND mode = 'ExclusiveLock'",
                EVENTS_TABLE,
            )
            assert held == 1
        # And it cannot take the lock directly (that would need UPDATE rights)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute(f"LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE")
    finally:
        await conn.close()


async def test_owner_roles_privileges_are_exactly_select_and_insert(
    saved_world: World, two_roles: TwoRoleDatabase
) -> None:
    app = urlsplit(two_roles.app_url).username
    conn = await asyncpg.connect(two_roles.owner_url)
    try:
        rights = {
            p: await conn.fetchval("SELECT has_table_privilege($1, $2, $3)", app, EVENTS_TABLE, p)
            for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")
        }
    finally:
        await conn.close()
    assert rights == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": False,
        "DELETE": False,
        "TRUNCATE": False,
        "TRIGGER": False,
        "REFERENCES": False,
    }


@pytest.fixture(scope="module")
async def ddl_guarded(saved_world: World, two_roles: TwoRoleDatabase) -> None:
    # Given the superuser installed the DDL guard (the embedded default does this on start)
    conn = await asyncpg.connect(two_roles.superuser_url)
    try:
        await conn.execute(DDL_GUARD_SQL)
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "statement",
    [
        f"ALTER TABLE {EVENTS_TABLE} DISABLE TRIGGER {TRIGGER}",
        f"DROP TRIGGER {TRIGGER} ON {EVENTS_TABLE}",
        "CREATE OR REPLACE FUNCTION gridledger_refuse_event_change() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
        f"ALTER TABLE {EVENTS_TABLE} RENAME TO gone",
        f"DROP TABLE {EVENTS_TABLE}",
    ],
)
async def test_the_owner_cannot_switch_the_guard_off(
    ddl_guarded: None, two_roles: TwoRoleDatabase, statement: str
) -> None:
    # When the owner tries to disable, replace or drop the protection
    conn = await asyncpg.connect(two_roles.owner_url)
    try:
        # Then only a superuser may
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="only a superuser"):
            await conn.execute(statement)
    finally:
        await conn.close()


async def test_a_restart_under_the_guard_still_works(
    ddl_guarded: None, settings: Settings, two_roles: TwoRoleDatabase
) -> None:
    # When the server starts again (the owner finds the protection in place and leaves it)
    assert settings.s3_endpoint is not None
    split = dataclasses.replace(
        settings, database_url=two_roles.app_url, database_owner_url=two_roles.owner_url
    )
    async with container_lifespan(
        split, database_url=two_roles.app_url, s3_endpoint=settings.s3_endpoint, run_workers=False
    ) as again:
        # Then it serves as before
        assert await again.pool.fetchval(f"SELECT count(*) FROM {EVENTS_TABLE}") > 0


async def test_a_var_dir_from_before_the_roles_keeps_working(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given an embedded cluster used the old way: everything made and owned by the superuser
    var_dir = tmp_path_factory.mktemp("oldvar")
    for folder in (var_dir, *var_dir.parents):  # the postgres user must reach it when we are root
        if folder.is_relative_to("/tmp") and folder != Path("/tmp"):
            folder.chmod(0o755)
    assert settings.s3_endpoint is not None
    pg = EmbeddedPostgres(var_dir / "pg" / "data", free_port(), durable=False)
    await to_thread.run_sync(pg.start)
    try:
        old = dataclasses.replace(settings, database_url=pg.url)
        async with container_lifespan(
            old, database_url=pg.url, s3_endpoint=settings.s3_endpoint
        ) as c:
            world = await build_world(c)
            events = await c.pool.fetchval(f"SELECT count(*) FROM {EVENTS_TABLE}")
        # When it starts with this change: the roles appear and take over what they own
        urls = await to_thread.run_sync(lambda: pg.ensure_roles(var_dir / "secrets"))
        new = dataclasses.replace(settings, database_url=None, var_dir=var_dir, pg_port=pg.port)
        async with container_lifespan(
            new, database_url=urls.app, s3_endpoint=settings.s3_endpoint
        ) as c:
            # Then the data is all there, read models included, served as the app role
            assert await c.pool.fetchval(f"SELECT count(*) FROM {EVENTS_TABLE}") == events
            assert (
                await c.pool.fetchval(
                    "SELECT count(*) FROM grid_units WHERE id = $1", world.grid_a1
                )
                == 1
            )
            assert await c.pool.fetchval("SELECT current_user") == APP_ROLE
            # And new events are saved, but old ones cannot be rewritten
            await build_world(c)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await c.pool.execute(f"DELETE FROM {EVENTS_TABLE}")
    finally:
        await to_thread.run_sync(pg.stop)
