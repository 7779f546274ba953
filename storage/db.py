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
    (
        7,
        """
    -- Evidence (issue 6): the sealer's leaves and signed checkpoints, and the access audit.
    -- All three are append-only: the application role gets only SELECT and INSERT on them
    -- (storage.db_roles.grant_app_privileges).
    CREATE TABLE merkle_leaves (
        leaf_index bigint PRIMARY KEY,
        position bigint NOT NULL UNIQUE,
        leaf_hash bytea NOT NULL
    );
    CREATE TABLE log_checkpoints (
        tree_size bigint PRIMARY KEY,
        root_hash bytea NOT NULL,
        key_id text NOT NULL,
        signed_note text NOT NULL,
        issued_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE access_audit (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor_id uuid,
        actor_role text NOT NULL,
        action text NOT NULL,
        subject_kind text NOT NULL,
        subject_id text NOT NULL,
        reason text NOT NULL,
        request_id text,
        details jsonb NOT NULL DEFAULT '{}'::jsonb
    );
    CREATE INDEX access_audit_actor ON access_audit (actor_id, at);
    CREATE INDEX access_audit_subject ON access_audit (subject_id, at);
    CREATE INDEX access_audit_at ON access_audit (at);
    """,
    ),
    (
        9,
        """
    -- The sealer's perfect subtrees above the leaves (level >= 1; level 0 is merkle_leaves):
    -- written once when complete, never changed, so any proof is one indexed read of
    -- O(log n) rows (storage.merkle). Append-only like merkle_leaves.
    CREATE TABLE merkle_nodes (
        level smallint NOT NULL CHECK (level BETWEEN 1 AND 62),
        idx bigint NOT NULL CHECK (idx >= 0),
        hash bytea NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (level, idx)
    );
    """,
    ),
    (
        5,
        """
    -- Every export of a list (privacy rule 6): who, in which role and scope, what, with which
    -- filters, why, how many rows, when, and the SHA-256 of the file handed out. Append-only.
    CREATE TABLE export_audit (
        id uuid PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        staff_id uuid NOT NULL,
        role text NOT NULL,
        scope_unit_id uuid NOT NULL,
        what text NOT NULL,
        format text NOT NULL,
        filters jsonb NOT NULL,
        reason text NOT NULL,
        row_count int NOT NULL,
        file_sha256 text NOT NULL
    );
    CREATE INDEX export_audit_at ON export_audit (at);
    CREATE INDEX export_audit_staff ON export_audit (staff_id, at);
    """,
    ),
    (
        4,
        """
    -- Sync: each distinct bucket set a pull cursor was issued for, kept once (content-addressed,
    -- never changed), so the next pull can tell which buckets were removed from a scope.
    CREATE TABLE sync_scopes (
        scope_hash text PRIMARY KEY,
        buckets text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    """,
    ),
    (
        10,
        """
    -- Refresh tokens already spent by a rotation (backend.services.auth_sessions): presented
    -- again within the grace window they yield the same successor (a lost response); later,
    -- their reuse revokes the session. Only hashes and a nonce: nothing a client could present.
    CREATE TABLE spent_refresh_tokens (
        refresh_hash text PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES device_sessions (session_id) ON DELETE CASCADE,
        successor_nonce bytea NOT NULL,
        spent_at timestamptz NOT NULL
    );
    CREATE INDEX spent_refresh_tokens_session ON spent_refresh_tokens (session_id, spent_at);
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
