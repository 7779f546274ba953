"""Issue 6, done when: on the embedded demo an auditor exports a case's evidence bundle,
verifies it offline with ``gridledger verify``, and watches verification fail after a database
superuser edits one byte of one event.

The server runs as its own process (``gridledger serve --demo``) on a fresh var dir; the
verifier runs as another process with no database or server settings at all.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from storage.embedded import free_port
from storage.eventstore import EVENTS_TABLE
from tests.integration.test_scope_matrix import _png
from tests.support.serve import GRIDLEDGER, embedded_env, serving

Json = dict[str, Any]


def _staff_id(lines: list[str], role: str) -> str:
    found = re.search(rf"demo {role} \S+: staff_id (\S+)", "".join(lines))
    assert found, "".join(lines)
    return found.group(1)


def _login(http: httpx.Client, staff_id: str) -> dict[str, str]:
    pair = http.post("/v1/auth/dev-login", json={"staff_id": staff_id, "device_id": "e2e"})
    assert pair.status_code == 200, pair.text
    return {"authorization": f"Bearer {pair.json()['access_token']}"}


def _report_case_with_photo(http: httpx.Client, member: dict[str, str]) -> str:
    photo = _png()
    sha = hashlib.sha256(photo).hexdigest()
    upload = http.post(
        "/v1/media",
        headers=member,
        files={"file": ("p.png", photo, "image/png")},
        data={"sha256": sha},
    )
    assert upload.status_code == 201, upload.text
    body = {
        "id": str(uuid.uuid4()),
        "category": "sanitation",
        "title": "村口垃圾堆积",
        "description": "村口垃圾三天未清运",
        "location": "甲村村口",
        "photos": [sha],
        "client_time": "2026-03-02T09:00:00+08:00",
    }
    case = http.post("/v1/cases", headers=member, json=body)
    assert case.status_code == 201, case.text
    case_id: str = case.json()["id"]
    return case_id


def _export(http: httpx.Client, auditor: dict[str, str], case_id: str, out: Path) -> None:
    """Export once the sealer has signed a checkpoint covering the case (409 until then)."""
    deadline = time.monotonic() + 90
    while True:
        response = http.post(
            "/v1/audit/bundles",
            headers=auditor,
            json={"case_id": case_id, "reason": "e2e: 纪检调查"},
        )
        if response.status_code != 409 or time.monotonic() > deadline:
            break
        assert response.json()["errcode"] == 40990, response.text
        time.sleep(1)
    assert response.status_code == 200, response.text
    out.write_bytes(response.content)


def _verify(bundle: Path, vkey: str) -> subprocess.CompletedProcess[str]:
    offline = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY")
    }
    return subprocess.run(
        [GRIDLEDGER, "verify", str(bundle), "--key", vkey],
        env=offline,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _edit_one_byte(superuser_url: str, case_id: str) -> int:
    """As the superuser: switch the append-only trigger off, change one digit, switch it on."""
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        position, state = conn.execute(
            f"SELECT notification_id, state FROM {EVENTS_TABLE} WHERE originator_id = %s"
            " ORDER BY originator_version LIMIT 1",
            (case_id,),
        ).fetchone()  # type: ignore[misc]
        at = max(i for i, b in enumerate(state) if chr(b).isdigit())
        forged = state[:at] + bytes([ord("0") + (state[at] - ord("0") + 1) % 10]) + state[at + 1 :]
        trigger = f"{EVENTS_TABLE}_append_only"
        conn.execute(f"ALTER TABLE {EVENTS_TABLE} DISABLE TRIGGER {trigger}")
        conn.execute(
            f"UPDATE {EVENTS_TABLE} SET state = %s WHERE notification_id = %s", (forged, position)
        )
        conn.execute(f"ALTER TABLE {EVENTS_TABLE} ENABLE TRIGGER {trigger}")
    return int(position)


def _neither_app_nor_owner_can_rewrite(var_dir: Path, pg_port: str) -> None:
    for role, refusal in (("app", "permission denied"), ("owner", "append-only")):
        password = (var_dir / "secrets" / f"pg_gridledger_{role}_password").read_text()
        url = f"postgresql://gridledger_{role}:{password}@127.0.0.1:{pg_port}/gridledger"
        with psycopg.connect(url, autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match=refusal):
                conn.execute(f"UPDATE {EVENTS_TABLE} SET topic = topic")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    f"ALTER TABLE {EVENTS_TABLE} DISABLE TRIGGER {EVENTS_TABLE}_append_only"
                )


def test_an_auditor_exports_verifies_and_catches_a_one_byte_edit(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    var_dir = tmp_path_factory.mktemp("evidence")
    env = embedded_env(var_dir) | {"GRIDLEDGER_CHECKPOINT_SECONDS": "1"}
    port = free_port()
    superuser_url = f"postgresql://postgres@127.0.0.1:{env['GRIDLEDGER_PG_PORT']}/gridledger"
    before, after = tmp_path_factory.mktemp("bundles") / "before.zip", var_dir / "after.zip"

    with (
        serving(env, port) as lines,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
    ):
        member = _login(http, _staff_id(lines, "grid_member"))
        auditor = _login(http, _staff_id(lines, "auditor"))
        # Given a case reported with a photo on the embedded demo
        case_id = _report_case_with_photo(http, member)
        keys = http.get("/v1/audit/log/keys", headers=auditor, params={"reason": "e2e"})
        assert keys.status_code == 200, keys.text
        vkey = next(k["vkey"] for k in keys.json()["keys"] if k["active"])
        # When the auditor exports its bundle
        _export(http, auditor, case_id, before)
        # Then it verifies offline and says what it verified
        good = _verify(before, vkey)
        assert good.returncode == 0, good.stderr
        assert "events: 1 verified" in good.stdout
        assert "photos: 1 verified" in good.stdout
        # And the export is in the access audit
        audit = http.get("/v1/audit/access", headers=auditor, params={"subject": case_id})
        assert [e["action"] for e in audit.json()["items"]] == ["evidence_bundle_export"]

        # And neither the server's role nor the table's owner can rewrite the event
        _neither_app_nor_owner_can_rewrite(var_dir, env["GRIDLEDGER_PG_PORT"])

        # When a database superuser edits one byte of the case's event
        position = _edit_one_byte(superuser_url, case_id)
        _export(http, auditor, case_id, after)

    # Then the bundle exported after the edit fails, naming the edited position
    bad = _verify(after, vkey)
    assert bad.returncode == 1, bad.stdout
    assert f"event at position {position}" in bad.stderr
    assert "inclusion proof fails" in bad.stderr
    # And the bundle exported before still verifies: it holds the record as sealed
    assert _verify(before, vkey).returncode == 0
