"""Database plumbing: asyncpg pools and the core schema migrations.

Read models own their tables (each module in ``projections/`` carries its DDL); this module owns
only the tables that are not projections: projection positions, device sessions and the ledger
import register. Migrations are numbered, applied once, under an advisory lock so that several
processes starting together do not race.
"""

from __future__ import annotations

import asyncpg

__all__ = ["MIGRATIONS", "apply_migrations", "create_pool"]

_MIGRATION_LOCK = 7_406_001  # arbitrary, fixed: the advisory lock key for migrations

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
    CREATE TABLE projection_positions (
        name text PRIMARY KEY,
        position bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE device_sessions (
        session_id uuid PRIMARY KEY,
        staff_id uuid NOT NULL,
        device_id text NOT NULL,
        refresh_hash text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_reason text
    );
    CREATE INDEX device_sessions_staff ON device_sessions (staff_id);
    CREATE TABLE ledger_imports (
        import_id uuid PRIMARY KEY,
        file_sha256 text NOT NULL,
        filename text NOT NULL,
        actor_id uuid,
        imported_at timestamptz NOT NULL DEFAULT now(),
        summary jsonb NOT NULL
    );
    CREATE TABLE ledger_import_households (
        household_no text PRIMARY KEY,
        content_hash text NOT NULL,
        import_id uuid NOT NULL REFERENCES ledger_imports (import_id)
    );
    """,
    ),
    (
        2,
        """
    CREATE TABLE media_objects (
        sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size bigint NOT NULL CHECK (size > 0),
        mime text NOT NULL,
        uploaded_by uuid NOT NULL,
        uploader_scope_unit_id uuid NOT NULL,
        uploaded_at timestamptz NOT NULL DEFAULT now(),
        public_copy_key text
    );
    CREATE TABLE media_access_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        staff_id uuid NOT NULL,
        sha256 text NOT NULL REFERENCES media_objects (sha256),
        purpose text NOT NULL
    );
    CREATE INDEX media_access_log_sha256 ON media_access_log (sha256, at);
    CREATE INDEX media_access_log_staff ON media_access_log (staff_id, at);
    """,
    ),
    (
        3,
        """
    -- A projection that fails on an event stops at it (nothing is skipped); the error is kept
    -- here so health shows it and writers stop waiting for a read model that cannot advance.
    ALTER TABLE projection_positions ADD COLUMN last_error text;
    ALTER TABLE projection_positions ADD COLUMN failed_at timestamptz;
    """,
    ),
)


async def create_pool(database_url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(database_url, min_size=min_size, max_size=max_size)
    assert pool is not None
    return pool


async def apply_migrations(pool: asyncpg.Pool) -> list[int]:
    """Apply pending migrations in order; returns the versions applied now."""
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version int PRIMARY KEY, applied_at timestamptz DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            applied = []
            for version, sql in MIGRATIONS:
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)", version
                    )
                applied.append(version)
            return applied
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
