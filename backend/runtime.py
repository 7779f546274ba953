"""Starting the services a process needs: external when configured, embedded otherwise."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from backend.settings import Settings
from storage.db_roles import APP_ROLE
from storage.embedded import EmbeddedPostgres, EmbeddedS3, RoleUrls, free_port

__all__ = [
    "ServiceUrls",
    "embedded_app_url",
    "embedded_services",
    "owner_database_url",
    "throwaway_services",
]


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str
    s3_endpoint: str


@contextlib.contextmanager
def embedded_services(settings: Settings) -> Iterator[ServiceUrls]:
    """The embedded default under ``var/``: data kept across restarts, stopped on exit."""
    pg = s3 = None
    try:
        roles = None
        if settings.database_url is None:
            pg = _embedded_pg(settings)
            pg.start()
            roles = pg.ensure_roles(settings.var_dir / "secrets")
        if settings.s3_endpoint is None:
            s3 = EmbeddedS3(
                settings.var_dir / "s3" / "data",
                settings.s3_port,
                settings.s3_access_key,
                settings.s3_secret_key,
            )
            s3.start()
        yield ServiceUrls(
            database_url=settings.database_url or _app_url(roles),
            s3_endpoint=settings.s3_endpoint or _endpoint(s3),
        )
    finally:
        if s3 is not None:
            s3.stop()
        if pg is not None:
            pg.stop()


@contextlib.contextmanager
def throwaway_services(*, access_key: str, secret_key: str) -> Iterator[ServiceUrls]:
    """Fresh PostgreSQL + S3 on free loopback ports in a temporary folder, removed on exit."""
    root = Path(tempfile.mkdtemp(prefix="gridledger-test-"))
    root.chmod(0o755)  # the postgres user must reach the data folder when we run as root
    pg = EmbeddedPostgres(root / "pg" / "data", free_port(), durable=False)
    s3 = EmbeddedS3(root / "s3" / "data", free_port(), access_key, secret_key, fixed_ports=False)
    try:
        pg.start()
        s3.start()
        yield ServiceUrls(database_url=pg.url, s3_endpoint=s3.endpoint)
    finally:
        s3.stop()
        pg.stop()
        if not os.environ.get("GRIDLEDGER_KEEP_TEST_DATA"):
            shutil.rmtree(root, ignore_errors=True)


def owner_database_url(settings: Settings, database_url: str) -> str:
    """The URL migrations run under: ``DATABASE_OWNER_URL``, the embedded owner role, or (an
    external database given only as ``DATABASE_URL``) the application's own URL."""
    if settings.database_owner_url:
        return settings.database_owner_url
    if settings.database_url is None and urlsplit(database_url).username == APP_ROLE:
        # The embedded app role's URL: embedded_services() made both roles; read back here.
        return _embedded_pg(settings).role_urls(settings.var_dir / "secrets").owner
    return database_url


def embedded_app_url(settings: Settings) -> str:
    """The embedded default's app-role URL (its PostgreSQL must be running: a served var/)."""
    return _embedded_pg(settings).role_urls(settings.var_dir / "secrets").app


def _embedded_pg(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.var_dir / "pg" / "data", settings.pg_port)


def _app_url(roles: RoleUrls | None) -> str:
    assert roles is not None
    return roles.app


def _endpoint(s3: EmbeddedS3 | None) -> str:
    assert s3 is not None
    return s3.endpoint
