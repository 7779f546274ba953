"""Immutability of the event log at the database (issue 6 item 1).

Two roles: an *owner* that creates the event table and runs the migrations, and the
*application* role the server works as, which may only SELECT and INSERT events. A statement
trigger refuses UPDATE, DELETE and TRUNCATE of the event table for everyone, the owner
included; only a superuser can switch it off (``ALTER TABLE ... DISABLE TRIGGER`` needs the
table's owner, and in the embedded default an event trigger refuses that to anyone but a
superuser) — which is exactly the tampering the offline verifier then catches.

The table lock. eventsourcing's recorder takes ``LOCK TABLE gridledger_events IN EXCLUSIVE
MODE`` before every insert so that commit order equals ``notification_id`` order (readers
following positions never skip a gap that fills later). PostgreSQL grants EXCLUSIVE mode only
with UPDATE, DELETE or TRUNCATE privilege. Rather than grant the app role UPDATE (and rely on the
trigger alone against it), the app's recorder calls ``gridledger_lock_events()``, a SECURITY
DEFINER function owned by the owner that takes the very same table lock; the lock lasts until
the caller's transaction ends, so the ordering guarantee is unchanged and the app role keeps
exactly SELECT + INSERT. See docs/evidence.md.
"""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
from psycopg import sql

from storage.eventstore import EVENTS_TABLE

__all__ = [
    "APPEND_ONLY_TABLES",
    "APP_ROLE",
    "DDL_GUARD_SQL",
    "GUARD_SQL",
    "LOCK_FUNCTION",
    "OWNER_ROLE",
    "TRIGGER",
    "ensure_role",
    "grant_app_privileges",
    "hand_over_superuser_objects",
    "protect_event_table",
    "role_password",
]

log = logging.getLogger(__name__)

OWNER_ROLE = "gridledger_owner"
APP_ROLE = "gridledger_app"
LOCK_FUNCTION = "gridledger_lock_events"
APPEND_ONLY_TABLES = (
    "access_audit",
    "merkle_leaves",
    "merkle_nodes",
    "log_checkpoints",
    "media_access_log",
    "export_audit",
)
"""Core tables the app role may only read and append to (evidence and its audit)."""

TRIGGER = f"{EVENTS_TABLE}_append_only"

GUARD_SQL = f"""
CREATE OR REPLACE FUNCTION gridledger_refuse_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE OR REPLACE TRIGGER {TRIGGER}
    BEFORE UPDATE OR DELETE OR TRUNCATE ON {EVENTS_TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION gridledger_refuse_event_change();
CREATE OR REPLACE FUNCTION {LOCK_FUNCTION}() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    LOCK TABLE public.{EVENTS_TABLE} IN EXCLUSIVE MODE;
END $$;
REVOKE ALL ON FUNCTION {LOCK_FUNCTION}() FROM PUBLIC;
"""


# Superuser-only (event triggers): refuses to anyone but a superuser any DDL on the event table
# and its guards — ALTER TABLE (DISABLE TRIGGER, OWNER, ...), replacing or dropping the trigger
# or its functions, dropping the table — which the table's owner could otherwise do.
_GUARDED = (
    f"{TRIGGER} on public.{EVENTS_TABLE}",
    "public.gridledger_refuse_event_change()",
    f"public.{LOCK_FUNCTION}()",
)
_GUARDED_SQL = ", ".join(f"'{g}'" for g in _GUARDED)
DDL_GUARD_SQL = f"""
CREATE OR REPLACE FUNCTION gridledger_guard_event_ddl() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    obj record;
    -- Found by the trigger it carries as well as by name: a rename must not shake it off.
    tbl oid := coalesce(to_regclass('public.{EVENTS_TABLE}')::oid, 0);
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN RETURN; END IF;
    FOR obj IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        IF (obj.classid = 'pg_class'::regclass AND obj.command_tag <> 'CREATE TABLE' AND (
                obj.objid = tbl OR EXISTS (
                    SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                    WHERE t.tgrelid = obj.objid AND p.proname = 'gridledger_refuse_event_change')))
           OR (obj.classid = 'pg_trigger'::regclass
               AND obj.objid IN (SELECT oid FROM pg_trigger WHERE tgrelid = tbl))
           OR (obj.classid = 'pg_proc'::regclass AND obj.objid IN (
               SELECT tgfoid FROM pg_trigger WHERE tgrelid = tbl AND NOT tgisinternal))
           OR obj.object_identity IN ({_GUARDED_SQL}) THEN
            RAISE EXCEPTION 'only a superuser may change the event log''s protection (% %)',
                obj.command_tag, obj.object_identity USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
END $$;
CREATE OR REPLACE FUNCTION gridledger_guard_event_drop() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE obj record;
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN RETURN; END IF;
    FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
        IF obj.object_identity IN ({_GUARDED_SQL}, 'public.{EVENTS_TABLE}') THEN
            RAISE EXCEPTION 'only a superuser may drop the event log or its protection (%)',
                obj.object_identity USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
END $$;
DROP EVENT TRIGGER IF EXISTS gridledger_guard_event_ddl;
CREATE EVENT TRIGGER gridledger_guard_event_ddl ON ddl_command_end
    EXECUTE FUNCTION gridledger_guard_event_ddl();
DROP EVENT TRIGGER IF EXISTS gridledger_guard_event_drop;
CREATE EVENT TRIGGER gridledger_guard_event_drop ON sql_drop
    EXECUTE FUNCTION gridledger_guard_event_drop();
"""


async def protect_event_table(conn: asyncpg.Connection, *, app_role: str | None) -> None:
    """Install the append-only trigger and the lock function if missing, as the owner.

    Present ones are left alone: replacing them is DDL the superuser's guard (DDL_GUARD_SQL)
    refuses to the owner. ``app_role`` is the role the server works as when it differs from
    the owner; ``None`` means one role does everything (immutability is the trigger alone)."""
    async with conn.transaction():
        if not await _guard_installed(conn):
            await conn.execute(GUARD_SQL)
        if app_role is not None:
            await grant_app_privileges(conn, app_role)


async def _guard_installed(conn: asyncpg.Connection) -> bool:
    found = await conn.fetchrow(
        "SELECT tgenabled FROM pg_trigger WHERE tgname = $1 AND tgrelid = $2::regclass",
        TRIGGER,
        EVENTS_TABLE,
    )
    functions = await conn.fetchval(
        "SELECT to_regprocedure('gridledger_refuse_event_change()') IS NOT NULL"
        " AND to_regprocedure($1) IS NOT NULL",
        f"{LOCK_FUNCTION}()",
    )
    if found is not None and found["tgenabled"] == "D":
        log.error(
            "the event table's append-only trigger %s is DISABLED: a superuser switched it off; "
            "verify the log (gridledger verify) and re-enable it",
            TRIGGER,
        )
    return found is not None and bool(functions)


async def grant_app_privileges(conn: asyncpg.Connection, app_role: str) -> None:
    """The app role's rights on what the owner owns: full DML on the core tables, SELECT and
    INSERT on the append-only ones and on the event table, nothing that rewrites history."""
    role = _ident(app_role)
    owned = await conn.fetch(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S')"
        " AND pg_get_userbyid(c.relowner) = current_user"
    )
    for row in owned:
        name, kind = _ident(row["relname"]), row["relkind"]
        await conn.execute(f"REVOKE ALL ON {'SEQUENCE ' if kind == 'S' else ''}{name} FROM {role}")
        await conn.execute(_grant_for(row["relname"], kind, role))
    await conn.execute(f"GRANT EXECUTE ON FUNCTION {LOCK_FUNCTION}() TO {role}")
    await conn.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")


def _grant_for(table: str, kind: str, role: str) -> str:
    name = _ident(table)
    if kind == "S":
        return f"GRANT USAGE, SELECT ON SEQUENCE {name} TO {role}"
    if table == EVENTS_TABLE or table in APPEND_ONLY_TABLES:
        return f"GRANT SELECT, INSERT ON {name} TO {role}"
    if table == "schema_migrations":
        return f"GRANT SELECT ON {name} TO {role}"
    return f"GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {role}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- the embedded default: roles made by the superuser (storage.embedded) ----------------------


def role_password(secrets_dir: Path, role: str) -> str:
    path = secrets_dir / f"pg_{role}_password"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_hex(24)
    path.write_text(password)
    path.chmod(0o600)
    return password


def ensure_role(conn: psycopg.Connection[Any], role: str, password: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    # Plain login roles: never superuser, never able to create roles.
    conn.execute(
        sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOCREATEROLE PASSWORD {}").format(
            sql.SQL(verb), sql.Identifier(role), sql.Literal(password)
        )
    )


def _core_tables() -> set[str]:
    """The tables the numbered migrations create (owned by the owner role), by name."""
    from storage.db import MIGRATIONS

    found = {"schema_migrations"}
    for _, statement in MIGRATIONS:
        found.update(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", statement))
    return found


def hand_over_superuser_objects(conn: psycopg.Connection[Any], *, owner: str, app: str) -> None:
    """Before the roles existed the superuser owned everything: the event table, its types and
    functions and the core tables go to the owner, the read models' tables to the app role."""
    core = _core_tables() | {EVENTS_TABLE}
    tables = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = 'postgres'"
    ).fetchall()
    for (table,) in tables:
        to = owner if table in core else app
        conn.execute(
            sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.Identifier(table), sql.Identifier(to))
        )
    for kind, query in _OWNED_CODE.items():
        for (signature,) in conn.execute(query).fetchall():
            conn.execute(
                sql.SQL(f"ALTER {kind} {signature} OWNER TO {{}}").format(sql.Identifier(owner))
            )


# Types (the recorder's composite row type) and functions made by the superuser, as SQL text.
_OWNED_CODE = {
    "TYPE": "SELECT t.oid::regtype::text FROM pg_type t JOIN pg_namespace n ON n.oid = "
    "t.typnamespace JOIN pg_class c ON c.oid = t.typrelid WHERE n.nspname = 'public' "
    "AND t.typtype = 'c' AND c.relkind = 'c' AND pg_get_userbyid(t.typowner) = 'postgres'",
    "FUNCTION": "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON "
    "n.oid = p.pronamespace WHERE n.nspname = 'public' "
    "AND pg_get_userbyid(p.proowner) = 'postgres' "
    # the DDL guard's event-trigger functions stay the superuser's: nobody else may replace them
    "AND p.prorettype <> 'event_trigger'::regtype",
}
