"""The README's run command, as a newcomer runs it: ``gridledger serve --demo`` in a process of
its own, on the embedded default (private PostgreSQL + S3 under a var dir), then stopped and
started again; and the operator's ``projections rebuild`` against a database a server used."""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from storage.embedded import free_port
from tests.support.serve import GRIDLEDGER, embedded_env, serving


def call(port: int, path: str, *, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method="POST" if body is not None else "GET",
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "content-type": "application/json",
            **({"authorization": f"Bearer {token}"} if token else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def _member_id(lines: list[str]) -> str:
    found = re.search(r"demo grid_member \S+: staff_id (\S+)", "".join(lines))
    assert found, "".join(lines)
    return found.group(1)


def test_serve_demo_on_the_embedded_default_keeps_data_across_restarts(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    var_dir = tmp_path_factory.mktemp("quickstart")
    env, port = embedded_env(var_dir), free_port()

    # given a fresh checkout's first run
    with serving(env, port) as lines:
        status, health = call(port, "/health")
        assert (status, health["status"]) == (200, "ok"), health
        assert health["head_position"] > 6000
        member = _member_id(lines)
        # then the development login works on the embedded default, and the member sees
        # the households of their own grid only, masked
        status, pair = call(
            port, "/v1/auth/dev-login", body={"staff_id": member, "device_id": "e2e-phone"}
        )
        assert status == 200, pair
        status, page = call(port, "/v1/households?limit=5", token=pair["access_token"])
        assert status == 200, page
        assert 30 <= page["total"] <= 150
        assert {h["grid_id"] for h in page["items"]} == {page["items"][0]["grid_id"]}
        assert all(
            "****" in p["id_number"] for h in page["items"] for p in h["persons"] if p["id_number"]
        )
        first_total = page["total"]

    # when it is stopped and started again on the same var dir
    with serving(env, port) as lines:
        status, pair = call(
            port,
            "/v1/auth/dev-login",
            body={"staff_id": _member_id(lines), "device_id": "e2e-phone"},
        )
        status, page = call(port, "/v1/households?limit=5", token=pair["access_token"])
        # then the data is still there and the demo was not seeded twice
        assert (status, page["total"]) == (200, first_total)
        assert any("already present" in line for line in lines)
    assert (var_dir / "pg" / "data" / "PG_VERSION").exists()
    assert not (var_dir / "pg" / "data" / "postmaster.pid").exists(), "PostgreSQL was stopped"


def test_projections_rebuild_from_the_command_line(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # given a database a server has used (external services this time: no dev login)
    name = f"e2e_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(service_env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database_url = service_env["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
    env = {
        **os.environ,
        **service_env,
        "DATABASE_URL": database_url,
        "GRIDLEDGER_S3_BUCKET": name.replace("_", "-"),
        "GRIDLEDGER_VAR_DIR": str(tmp_path),
    }
    port = free_port()
    with serving(env, port):
        status, body = call(
            port, "/v1/auth/dev-login", body={"staff_id": str(uuid.uuid4()), "device_id": "x"}
        )
        assert (status, body["errcode"]) == (404, 40400)

    # when the operator rebuilds every read model with the server stopped
    rebuilt = subprocess.run(
        [GRIDLEDGER, "projections", "rebuild"], env=env, capture_output=True, text=True, timeout=300
    )
    status = subprocess.run(
        [GRIDLEDGER, "projections", "status"], env=env, capture_output=True, text=True, timeout=60
    )

    # then it reports progress per projection and ends with no lag
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "household_files" in rebuilt.stderr
    assert status.returncode == 0, status.stderr
    lags = re.findall(r"^(\S+)\s+position\s+(\d+)\s+lag (\d+)$", status.stdout, re.M)
    assert {n for n, _, _ in lags} >= {"grid_tree", "staff_roster", "household_files"}
    assert all(lag == "0" for _, _, lag in lags), status.stdout
