"""Starting the services a process needs: external when configured, embedded otherwise."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from backend.settings import Settings
from storage.embedded import EmbeddedPostgres, EmbeddedS3, free_port

__all__ = ["ServiceUrls", "embedded_services", "throwaway_services"]


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str
    s3_endpoint: str


@contextlib.contextmanager
def embedded_services(settings: Settings) -> Iterator[ServiceUrls]:
    """The embedded default under ``var/``: data kept across restarts, stopped on exit."""
    pg = s3 = None
    try:
        if settings.database_url is None:
            pg = EmbeddedPostgres(settings.var_dir / "pg" / "data", settings.pg_port)
            pg.start()
        if settings.s3_endpoint is None:
            s3 = EmbeddedS3(
                settings.var_dir / "s3" / "data",
                settings.s3_port,
                settings.s3_access_key,
                settings.s3_secret_key,
            )
            s3.start()
        yield ServiceUrls(
            database_url=settings.database_url or _url(pg),
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


def _url(pg: EmbeddedPostgres | None) -> str:
    assert pg is not None
    return pg.url


def _endpoint(s3: EmbeddedS3 | None) -> str:
    assert s3 is not None
    return s3.endpoint
