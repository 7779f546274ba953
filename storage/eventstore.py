"""The event log: eventsourcing's PostgreSQL application recorder with our msgspec mapper.

The library is synchronous (psycopg 3); callers in ``async def`` code reach it through a worker
thread. All events of the system share one table and therefore one notification sequence, which
projections and the sync feed follow by position.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL

from storage.mapper import MsgspecMapper

__all__ = ["EVENTS_TABLE", "EventLog", "event_store_env"]

EVENTS_TABLE = "gridledger_events"


class EventLog(Application[UUID]):
    """The single event-sourced application; its name fixes the table ``gridledger_events``."""

    name = "GridLedger"

    def __init__(self, env: dict[str, Any] | None = None, *, guarded_lock: bool = False) -> None:
        # Set before the library's constructor, which builds the recorder.
        self._guarded_lock = guarded_lock
        super().__init__(env)

    def construct_recorder(self) -> ApplicationRecorder:
        recorder = super().construct_recorder()
        if self._guarded_lock and isinstance(recorder, PostgresApplicationRecorder):
            # The app role may not LOCK the table itself (EXCLUSIVE mode needs UPDATE rights);
            # the owner's SECURITY DEFINER function takes the same lock (storage/db_roles.py).
            lock_timeout = recorder.datastore.lock_timeout
            recorder.lock_table_statements = [
                SQL("SET LOCAL lock_timeout = '{0}s'").format(lock_timeout),
                SQL("SELECT gridledger_lock_events()"),
            ]
        return recorder

    def construct_mapper(self) -> Mapper[UUID]:
        return MsgspecMapper()

    def highest_position(self) -> int:
        return self.recorder.max_notification_id() or 0


def event_store_env(
    database_url: str, *, pool_size: int = 5, create_table: bool = True
) -> dict[str, Any]:
    """Translate ``DATABASE_URL`` into the library's ``POSTGRES_*`` keys (only storage/ knows
    them). TCP only: over a unix socket large saves deadlocked in psycopg's pipeline mode.
    ``create_table`` is off for the application role, which may not create or replace the
    table, its types and functions (the owner does that first)."""
    url = urlsplit(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.lstrip("/") or "gridledger",
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "5",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "CREATE_TABLE": "y" if create_table else "n",
    }
