"""The access audit: exports and photo reads are recorded and only auditors can query them;
the bundle endpoint refuses bad selectors and callers who are not auditors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from backend.bootstrap import Container
from backend.services import access_audit
from backend.services.actor import Actor
from tests.integration.test_case_api import upload
from tests.support.world import World

AUDIT = "/v1/audit/access"
BUNDLES = "/v1/audit/bundles"


def _actor(world: World, role: str) -> Actor:
    return Actor(
        staff_id=world.staff[role],
        name=role,
        role="auditor" if role == "auditor" else "grid_member",
        scope_unit_id=world.town,
        device_id="test",
        session_id=None,
    )


async def test_a_recorded_read_is_found_by_actor_subject_and_time(
    client: httpx.AsyncClient, world: World, container: Container
) -> None:
    # Given a reveal recorded by another service
    subject = f"person:{uuid.uuid4()}"
    await access_audit.record(
        container.pool,
        actor=_actor(world, "member_a1"),
        action="reveal_id_number",
        subject_kind="person",
        subject_id=subject,
        reason="上门核实身份",
        details={"field": "id_number"},
        request_id="req-1",
    )
    # When the auditor asks for that subject, and for that actor in the last minute
    now = datetime.now(UTC)
    by_subject = await client.get(
        AUDIT, headers=world.headers["auditor"], params={"subject": subject}
    )
    by_actor = await client.get(
        AUDIT,
        headers=world.headers["auditor"],
        params={
            "actor": str(world.staff["member_a1"]),
            "from": (now - timedelta(minutes=1)).isoformat(),
            "to": (now + timedelta(minutes=1)).isoformat(),
        },
    )
    # Then both find it, with who, why and the request id
    assert by_subject.status_code == 200, by_subject.text
    [entry] = by_subject.json()["items"]
    assert entry["action"] == "reveal_id_number"
    assert entry["actor_role"] == "grid_member"
    assert entry["reason"] == "上门核实身份"
    assert entry["request_id"] == "req-1"
    assert entry["details"] == {"field": "id_number"}
    assert entry["entry_id"] in {e["entry_id"] for e in by_actor.json()["items"]}


async def test_photo_reads_appear_in_the_same_view(client: httpx.AsyncClient, world: World) -> None:
    member = world.headers["member_a1"]
    sha = await upload(client, member)
    # When the member opens the photo
    assert (await client.get(f"/v1/media/{sha}", headers=member)).status_code == 200
    # Then the auditor sees the read
    page = await client.get(AUDIT, headers=world.headers["auditor"], params={"subject": sha})
    [entry] = page.json()["items"]
    assert entry["action"] == "photo_read"
    assert entry["actor_id"] == str(world.staff["member_a1"])
    assert entry["entry_id"].startswith("m")


async def test_list_exports_appear_in_the_same_view(
    client: httpx.AsyncClient, world: World
) -> None:
    # When the supervisor exports the grid coverage table
    body = {"what": "grid_coverage", "format": "csv", "reason": "打擂台",
            "filters": {"as_of": "2026-03-31", "period": "quarter"}}  # fmt: skip
    exported = await client.post("/v1/exports", headers=world.headers["supervisor"], json=body)
    assert exported.status_code == 200, exported.text
    # Then the auditor finds it by actor, with what, why and how many rows
    page = await client.get(
        AUDIT,
        headers=world.headers["auditor"],
        params={"actor": str(world.staff["supervisor"]), "subject": "grid_coverage"},
    )
    [entry] = page.json()["items"]
    assert entry["action"] == "list_export"
    assert entry["reason"] == "打擂台"
    assert entry["details"]["format"] == "csv"
    assert entry["entry_id"].startswith("x")


async def test_pages_are_bounded_and_continue(client: httpx.AsyncClient, world: World) -> None:
    page = await client.get(AUDIT, headers=world.headers["auditor"], params={"limit": 1})
    assert page.status_code == 200
    assert len(page.json()["items"]) == 1
    assert page.json()["next_offset"] == 1


@pytest.mark.parametrize("role", ["member_a1", "supervisor", "admin"])
async def test_only_auditors_read_the_access_audit(
    client: httpx.AsyncClient, world: World, role: str
) -> None:
    response = await client.get(AUDIT, headers=world.headers[role])
    assert (response.status_code, response.json()["errcode"]) == (403, 40300)


@pytest.mark.parametrize("role", ["member_a1", "supervisor", "admin"])
async def test_only_auditors_export_bundles(
    client: httpx.AsyncClient, world: World, role: str
) -> None:
    body = {"case_id": str(uuid.uuid4()), "reason": "看看"}
    response = await client.post(BUNDLES, headers=world.headers[role], json=body)
    assert (response.status_code, response.json()["errcode"]) == (403, 40300)


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"reason": "x"}, 40090),
        ({"reason": "x", "case_id": str(uuid.uuid4()), "household_id": str(uuid.uuid4())}, 40090),
        ({"reason": "x", "period": {"from": "2026-02-01", "to": "2026-01-01"}}, 40090),
        ({"reason": "x", "period": {"from": "2024-01-01", "to": "2026-01-01"}}, 40090),
        ({"reason": "   ", "case_id": str(uuid.uuid4())}, 40091),
        ({"reason": "", "case_id": str(uuid.uuid4())}, 40000),
        ({"reason": "x", "period": {"from": "2026-01-01"}}, 40000),
    ],
)
async def test_bad_bundle_requests_are_refused(
    client: httpx.AsyncClient, world: World, body: dict[str, object], errcode: int
) -> None:
    response = await client.post(BUNDLES, headers=world.headers["auditor"], json=body)
    assert (response.status_code, response.json()["errcode"]) == (400, errcode), response.text


async def test_an_unknown_case_is_404(client: httpx.AsyncClient, world: World) -> None:
    body = {"case_id": str(uuid.uuid4()), "reason": "核查"}
    response = await client.post(BUNDLES, headers=world.headers["auditor"], json=body)
    assert (response.status_code, response.json()["errcode"]) == (404, 40400)


async def test_an_empty_period_is_404(client: httpx.AsyncClient, world: World) -> None:
    body = {"period": {"from": "2001-01-01", "to": "2001-01-31"}, "reason": "核查"}
    response = await client.post(BUNDLES, headers=world.headers["auditor"], json=body)
    assert (response.status_code, response.json()["errcode"]) == (404, 40400)
