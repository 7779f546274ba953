"""Token abuse: relieved members, replayed refresh tokens, forged and re-aimed access tokens,
and tokens kept after logout. Every refusal is a 401 with the errcode that names the reason,
and a refused request changes nothing."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from anyio import to_thread

from backend.auth import AccessTokenCodec
from backend.bootstrap import Container
from backend.services.auth import TokenPair, auth_service
from events.meta import system_meta
from events.staff import Staff
from tests.integration.test_sync_push import visit
from tests.support.households import household_body, register
from tests.support.world import World

Client = httpx.AsyncClient
Json = dict[str, Any]
META = system_meta("tests")


# -- set-up -----------------------------------------------------------------------------------


async def _save(container: Container, *aggregates: Any) -> None:
    recordings = await to_thread.run_sync(lambda: container.event_log.save(*aggregates))
    await container.runner.wait_for(recordings[-1].notification.id)


async def _member(container: Container, scope: UUID) -> tuple[UUID, str, TokenPair]:
    """A fresh grid member logged in on a device of their own: (staff_id, device, tokens)."""
    staff = Staff.appoint(
        name="测试成员",
        work_phone="13800000000",
        role="grid_member",
        scope_unit_id=scope,
        effective_from=date(2026, 1, 1),
        meta=META,
    )
    await _save(container, staff)
    device = f"device-{uuid4().hex[:8]}"
    return staff.id, device, await auth_service(container).dev_login(staff.id, device)


async def _relieve(container: Container, staff_id: UUID) -> None:
    staff: Staff = await to_thread.run_sync(lambda: container.event_log.repository.get(staff_id))
    staff.relieve(date.today(), "调离", meta=META)
    await _save(container, staff)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _errcode(response: httpx.Response, status: int) -> int:
    assert response.status_code == status, response.text
    errcode: int = response.json()["errcode"]
    return errcode


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _claims(token: str) -> Json:
    payload = token.split(".")[0]
    decoded: Json = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def _token_of(world: World, who: str) -> str:
    return world.headers[who]["Authorization"].removeprefix("Bearer ")


async def _event_count(container: Container, originator: str) -> int:
    value = await container.pool.fetchval(
        "SELECT count(*) FROM gridledger_events WHERE originator_id = $1", UUID(originator)
    )
    return int(value)


async def _every_kind_of_request(
    client: Client, headers: dict[str, str], device: str, household_id: str, event: Json
) -> dict[str, httpx.Response]:
    """A read, a list, a write, an upload, a photo read, a sync push and a sync pull."""
    sync = {"protocol": 1, "device_id": device}
    pushed = {**sync, "device_clock": datetime.now(UTC).isoformat(), "events": [event]}
    return {
        "me": await client.get("/v1/me", headers=headers),
        "list": await client.get("/v1/households", headers=headers),
        "read": await client.get(f"/v1/households/{household_id}", headers=headers),
        "write": await client.post("/v1/households", headers=headers, json=household_body(uuid4())),
        "upload": await client.post(
            "/v1/media", headers=headers, files={"file": ("a.jpg", b"\xff\xd8\xff\xe0" * 8)}
        ),
        "photo": await client.get(f"/v1/media/{'0' * 64}", headers=headers),
        "push": await client.post("/v1/sync/push", headers=headers, json=pushed),
        "pull": await client.post("/v1/sync/pull", headers=headers, json=sync),
    }


# -- a relieved member ------------------------------------------------------------------------


async def test_a_relieved_members_access_token_is_refused_on_every_kind_of_endpoint(
    client: Client, world: World, container: Container
) -> None:
    # given a member of grid A1 whose token works, and a household in that grid
    staff_id, device, tokens = await _member(container, world.grid_a1)
    headers = _bearer(tokens.access_token)
    household = await register(client, world.headers["member_a1"], household_body(world.grid_a1))
    pull = {"protocol": 1, "device_id": device}
    assert (await client.post("/v1/sync/pull", headers=headers, json=pull)).status_code == 200
    # when the member is relieved and keeps using the (unexpired) access token
    await _relieve(container, staff_id)
    event = visit(household["id"])
    answers = await _every_kind_of_request(client, headers, device, household["id"], event)
    # then every request is refused as "relieved", and the pushed visit was not recorded
    assert {name: _errcode(r, 401) for name, r in answers.items()} == dict.fromkeys(answers, 40107)
    assert await _event_count(container, event["event_id"]) == 0
    refresh = await client.post(
        "/v1/auth/refresh", json={"refresh_token": tokens.refresh_token, "device_id": device}
    )
    assert _errcode(refresh, 401) == 40107


# -- refresh token replay ---------------------------------------------------------------------


async def _refresh(client: Client, token: str, device: str) -> httpx.Response:
    return await client.post("/v1/auth/refresh", json={"refresh_token": token, "device_id": device})


async def test_a_refresh_token_replayed_after_rotation_is_refused(
    client: Client, world: World, container: Container
) -> None:
    # given a session whose refresh token has been rotated once
    _, device, tokens = await _member(container, world.grid_a1)
    rotated = await _refresh(client, tokens.refresh_token, device)
    assert rotated.status_code == 200, rotated.text
    # when the old refresh token is presented again (a stolen copy, or a replayed request)
    replay = await _refresh(client, tokens.refresh_token, device)
    # then it is refused and mints nothing
    assert _errcode(replay, 401) == 40104
    assert "access_token" not in replay.json()


async def test_two_concurrent_refreshes_with_one_token_mint_one_pair(
    client: Client, world: World, container: Container
) -> None:
    _, device, tokens = await _member(container, world.grid_a1)

    answers = await asyncio.gather(
        *(_refresh(client, tokens.refresh_token, device) for _ in range(4))
    )

    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200, 401, 401, 401], [r.text for r in answers]
    assert {r.json()["errcode"] for r in answers if r.status_code == 401} == {40104}


# -- forged access tokens ---------------------------------------------------------------------


def _forgeries(token: str) -> dict[str, tuple[str, int]]:
    """Ways to bend a real token; each with the errcode it must get."""
    payload, signature = token.split(".")
    claims = _claims(token)
    jwt_none = _b64(b'{"alg":"none","typ":"JWT"}')
    with_alg = _b64(json.dumps({**claims, "alg": "none"}).encode())
    other_key = AccessTokenCodec({claims["key_id"]: b"k" * 32}).issue(
        staff_id=UUID(claims["staff_id"]),
        device_id=claims["device_id"],
        session_id=UUID(claims["session_id"]),
        now=datetime.now(UTC),
    )
    return {
        "jwt header, alg none, no signature": (f"{jwt_none}.{payload}.", 40101),
        "jwt header in front of a real token": (f"{jwt_none}.{token}", 40101),
        "alg none claim, old signature": (f"{with_alg}.{signature}", 40102),
        "empty signature": (f"{payload}.", 40101),
        "truncated signature": (f"{payload}.{signature[:-4]}", 40101),
        "zero signature": (f"{payload}.{_b64(bytes(32))}", 40102),
        "padded base64": (f"{payload}.{signature}=", 40101),
        "signed with another key of the same id": (other_key, 40102),
    }


FORGERIES = (
    "jwt header, alg none, no signature",
    "jwt header in front of a real token",
    "alg none claim, old signature",
    "empty signature",
    "truncated signature",
    "zero signature",
    "padded base64",
    "signed with another key of the same id",
)


@pytest.mark.parametrize("kind", FORGERIES)
async def test_a_tampered_token_header_or_algorithm_is_refused(
    client: Client, world: World, kind: str
) -> None:
    forgeries = _forgeries(_token_of(world, "member_a1"))
    assert set(forgeries) == set(FORGERIES)
    forged, errcode = forgeries[kind]

    response = await client.get("/v1/me", headers=_bearer(forged))

    assert _errcode(response, 401) == errcode


async def test_a_token_re_aimed_at_another_staff_member_is_refused(
    client: Client, world: World
) -> None:
    # given member A1's token, with the staff id in its claims swapped for the admin's
    token = _token_of(world, "member_a1")
    signature = token.split(".")[1]
    claims = {**_claims(token), "staff_id": str(world.staff["admin"])}
    forged = f"{_b64(json.dumps(claims, separators=(',', ':')).encode())}.{signature}"

    response = await client.get("/v1/me", headers=_bearer(forged))

    assert _errcode(response, 401) == 40102


async def test_a_validly_signed_token_for_another_staff_id_needs_that_staffs_session(
    client: Client, world: World, container: Container
) -> None:
    # given tokens signed with the server's own key naming the admin, but carrying member A1's
    # session (a leaked key or a signing bug), or a session that never existed
    a1 = _claims(_token_of(world, "member_a1"))
    sessions = {"member a1's session": UUID(a1["session_id"]), "no session": uuid4()}
    for name, session_id in sessions.items():
        forged = container.tokens.issue(
            staff_id=world.staff["admin"],
            device_id=a1["device_id"],
            session_id=session_id,
            now=datetime.now(UTC),
        )
        # when it is used on a read and an admin-only listing
        me = await client.get("/v1/me", headers=_bearer(forged))
        staff = await client.get("/v1/staff", headers=_bearer(forged))
        # then both are refused: authority comes from the session row, not the claims
        assert (_errcode(me, 401), _errcode(staff, 401)) == (40104, 40104), name


# -- logout -----------------------------------------------------------------------------------


async def test_an_access_token_used_after_logout_is_refused_everywhere(
    client: Client, world: World, container: Container
) -> None:
    # given a member logged in on two devices, and a household in their grid
    staff_id, device, tokens = await _member(container, world.grid_a1)
    other = await auth_service(container).dev_login(staff_id, "second-phone")
    household = await register(client, world.headers["member_a1"], household_body(world.grid_a1))
    # when the first device logs out and its access token (not yet expired) is used again
    out = await client.post("/v1/auth/logout", headers=_bearer(tokens.access_token))
    event = visit(household["id"])
    answers = await _every_kind_of_request(
        client, _bearer(tokens.access_token), device, household["id"], event
    )
    # then every request is refused as revoked and nothing was written
    assert out.status_code == 204, out.text
    assert {name: _errcode(r, 401) for name, r in answers.items()} == dict.fromkeys(answers, 40104)
    assert await _event_count(container, event["event_id"]) == 0
    assert _errcode(await _refresh(client, tokens.refresh_token, device), 401) == 40104
    # and the other device's session is untouched
    assert (await client.get("/v1/me", headers=_bearer(other.access_token))).status_code == 200
