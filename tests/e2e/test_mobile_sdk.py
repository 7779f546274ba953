"""The mobile-api SDK's Node suite against a live server: ``node --test mobile-api/test/``.

The server runs as a newcomer runs it, ``gridledger serve --demo`` in a process of its own on
the embedded default: the development login the phones use (``POST /v1/auth/dev-login``) is
served only there, never when PostgreSQL or S3 are external. The demo township supplies grids,
staff and ~6,000 households; this test adds what the scenarios need through the HTTP API (a
grid member appointed for the reassignment story) and hands the Node suite a fixture file
naming the staff and units, in ``GRIDLEDGER_E2E``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.demo import generate_township
from backend.services.demo_seed import demo_staff_id
from events.grid import GridUnit
from storage.embedded import free_port
from tests.support.serve import embedded_env, serving

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node") or "/usr/bin/node"


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """Our own temporary directory: pytest prunes old ``pytest-N`` base directories, and other
    test runs on the machine may do so while this server still keeps its database there."""
    with tempfile.TemporaryDirectory(prefix="gl-mobile-sdk-") as path:
        yield Path(path)


@pytest.fixture(scope="module")
def server(scratch: Path) -> Iterator[str]:
    """``gridledger serve --demo`` until it announces its demo staff; SIGINT on the way out."""
    port = free_port()
    (scratch / "var").mkdir()
    with serving(embedded_env(scratch / "var"), port, timeout=240):
        yield f"http://127.0.0.1:{port}"


def _call(base: str, path: str, *, token: str | None = None, body: Any = None) -> Any:
    request = urllib.request.Request(
        base + path,
        method="POST" if body is not None else "GET",
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "content-type": "application/json",
            **({"authorization": f"Bearer {token}"} if token else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            pytest.fail(f"{path}: {err.code} {err.read().decode()}")


def _township() -> dict[str, Any]:
    """The demo's units and staff by the stable ids the seed gives them."""
    township = generate_township()
    staff = {s.key: str(demo_staff_id(s.key)) for s in township.staff}
    town = township.units[0]
    villages = []
    for village in (u for u in township.units if u.level == 2):
        grids = [
            {
                "code": g.code,
                "id": str(GridUnit.id_for_code(g.code)),
                "members": [v for k, v in staff.items() if k.startswith(f"gm-{g.code}")],
            }
            for g in township.units
            if g.parent_code == village.code
        ]
        villages.append(
            {
                "code": village.code,
                "id": str(GridUnit.id_for_code(village.code)),
                "head": staff[f"gh-{village.code}"],
                "grids": grids,
            }
        )
    return {
        "town_id": str(GridUnit.id_for_code(town.code)),
        "admin": staff[f"adm-{town.code}"],
        "supervisor": staff[f"sup-{town.code}"],
        "villages": villages,
    }


def _seed(base: str, township: dict[str, Any]) -> dict[str, Any]:
    """Grid members appointed through the staff API for the scenarios that count their work
    (the demo may carry visits of its own members) and for the reassignment story."""
    admin = _call(
        base,
        "/v1/auth/dev-login",
        body={"staff_id": township["admin"], "device_id": "e2e-seeder"},
    )
    grids = {
        "offline_member": township["villages"][1]["grids"][0],
        "dropped_member": township["villages"][1]["grids"][1],
        "reassigned_member": township["villages"][5]["grids"][0],
    }
    seeded: dict[str, Any] = {f"{key}_grid": grid["id"] for key, grid in grids.items()}
    for key, grid in grids.items():
        appointed = _call(
            base,
            "/v1/staff",
            token=admin["access_token"],
            body={
                "name": "端到端网格员",
                "work_phone": "13900000000",
                "role": "grid_member",
                "scope_unit_id": grid["id"],
                # in post for a month: yesterday's offline work was inside the assignment
                "effective_from": (date.today() - timedelta(days=30)).isoformat(),
            },
        )
        seeded[key] = appointed["id"]
    return seeded


@pytest.mark.timeout(900)
def test_the_node_suite_passes_against_a_live_server(server: str, scratch: Path) -> None:
    # given a live server with the demo township and a member appointed for the scenarios
    township = _township()
    fixture = {"base_url": server, **township, **_seed(server, township)}
    fixture_path = scratch / "e2e.json"
    fixture_path.write_text(json.dumps(fixture))
    # when the SDK's Node suite runs against it (unit tests and the phone scenarios)
    result = subprocess.run(
        [NODE, "--test", "--test-concurrency=1", "test/"],
        cwd=ROOT / "mobile-api",
        env={**os.environ, "GRIDLEDGER_E2E": str(fixture_path), "GL_TMP": str(scratch)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    # then every Node test passes
    summary = [line for line in result.stdout.splitlines() if line.startswith("# ")]
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert "# fail 0" in summary, summary
