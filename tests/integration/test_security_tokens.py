"""Token abuse: relieved members, replayed and reused refresh tokens, another device's refresh
token, forged and re-aimed access tokens, and tokens kept after logout. Every refusal is a 401
with the errcode that names the reason; a refused request mints nothing, and a reused refresh
token (theft) revokes its whole session, while a phone that merely lost a refresh response
gets the same successor again within the grace window. Expired tokens: test_auth_api.py."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from anyio import to_thread

from backend.auth import AccessTokenCodec, hash_refresh_token
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


async def _access_works(client: Client, token: str) -> httpx.Response:
    return await client.get("/v1/me", headers=_bearer(token))


async def _age_spent_tokens(container: Container, refresh_token: str, seconds: int) -> None:
    """Move the spend of ``refresh_token``'s session's spent tokens ``seconds`` into the past."""
    await container.pool.execute(
        "UPDATE spent_refresh_tokens SET spent_at = spent_at - make_interval(secs => $2) "
        "WHERE session_id = (SELECT session_id FROM device_sessions WHERE refresh_hash = $1)",
        hash_refresh_token(refresh_token),
        seconds,
    )


async def test_a_refresh_presented_again_within_the_grace_gets_the_same_refresh_token(
    client: Client, world: World, container: Container
) -> None:
    # given a phone whose refresh succeeded on the server but whose response was lost
    _, device, tokens = await _member(container, world.grid_a1)
    lost = await _refresh(client, tokens.refresh_token, device)
    assert lost.status_code == 200, lost.text
    # when it retries with the token it still holds, a few seconds later
    retry = await _refresh(client, tokens.refresh_token, device)
    # then it gets the same refresh token again and a working access token: nothing rotated
    assert retry.status_code == 200, retry.text
    assert retry.json()["refresh_token"] == lost.json()["refresh_token"]
    assert (await _access_works(client, retry.json()["access_token"])).status_code == 200
    # and the session carries on: the successor rotates as usual
    onwards = await _refresh(client, retry.json()["refresh_token"], device)
    assert onwards.status_code == 200, onwards.text
    assert onwards.json()["refresh_token"] not in {
        tokens.refresh_token,
        lost.json()["refresh_token"],
    }


async def test_a_refresh_token_reused_after_the_grace_revokes_the_whole_session(
    client: Client, world: World, container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    # given a session rotated once, the phone holding the successor and a working access token
    _, device, tokens = await _member(container, world.grid_a1)
    rotated = (await _refresh(client, tokens.refresh_token, device)).json()
    await _age_spent_tokens(container, rotated["refresh_token"], 61)
    # when the spent token is presented again after the 60 s grace (a stolen copy)
    with caplog.at_level(logging.WARNING, logger="backend.services.auth_sessions"):
        replay = await _refresh(client, tokens.refresh_token, device)
    # then it is refused as a reuse, mints nothing, and the reuse is logged without the token
    assert _errcode(replay, 401) == 40192
    assert "access_token" not in replay.json()
    assert [r for r in caplog.records if "refresh token reuse" in r.getMessage()]
    assert tokens.refresh_token not in caplog.text
    # and every token of the session stops working: the successor and both access tokens
    assert _errcode(await _refresh(client, rotated["refresh_token"], device), 401) == 40104
    for access in (tokens.access_token, rotated["access_token"]):
        assert _errcode(await _access_works(client, access), 401) == 40104
    reason = await container.pool.fetchval(
        "SELECT revoked_reason FROM device_sessions WHERE refresh_hash = $1",
        hash_refresh_token(rotated["refresh_token"]),
    )
    assert reason == "refresh token reuse"


async def test_a_spent_token_presented_after_its_successor_was_used_revokes_the_session(
    client: Client, world: World, container: Container
) -> None:
    # given a session rotated twice within a few seconds (the phone got both responses)
    _, device, tokens = await _member(container, world.grid_a1)
    first = (await _refresh(client, tokens.refresh_token, device)).json()
    second = (await _refresh(client, first["refresh_token"], device)).json()
    # when the very first token is presented again, still inside its grace window
    replay = await _refresh(client, tokens.refresh_token, device)
    # then the grace does not apply (its successor was already used): theft, session revoked
    assert _errcode(replay, 401) == 40192
    assert _errcode(await _refresh(client, second["refresh_token"], device), 401) == 40104
    assert _errcode(await _access_works(client, second["access_token"]), 401) == 40104


async def test_a_reused_token_on_a_revoked_session_stays_refused_and_mints_nothing(
    client: Client, world: World, container: Container
) -> None:
    # given a session that a reuse has revoked
    _, device, tokens = await _member(container, world.grid_a1)
    rotated = (await _refresh(client, tokens.refresh_token, device)).json()
    await _age_spent_tokens(container, rotated["refresh_token"], 61)
    assert _errcode(await _refresh(client, tokens.refresh_token, device), 401) == 40192
    # when either token is tried again
    answers = [
        await _refresh(client, t, device) for t in (tokens.refresh_token, rotated["refresh_token"])
    ]
    # then both are refused as revoked
    assert [_errcode(r, 401) for r in answers] == [40104, 40104]


async def test_two_concurrent_refreshes_with_one_token_get_one_successor(
    client: Client, world: World, container: Container
) -> None:
    # given one refresh token, sent four times at once (a retrying, duplicating link)
    _, device, tokens = await _member(container, world.grid_a1)

    answers = await asyncio.gather(
        *(_refresh(client, tokens.refresh_token, device) for _ in range(4))
    )

    # then all four get the same successor: one rotation happened, and it works
    assert [r.status_code for r in answers] == [200] * 4, [r.text for r in answers]
    successors = {r.json()["refresh_token"] for r in answers}
    assert len(successors) == 1
    assert (await _refresh(client, successors.pop(), device)).status_code == 200


# -- another device's refresh token -----------------------------------------------------------


async def test_another_devices_refresh_token_is_refused_and_the_owner_keeps_the_session(
    client: Client, world: World, container: Container
) -> None:
    # given a phone whose current token and just-spent token are copied to another device
    _, device, tokens = await _member(container, world.grid_a1)
    rotated = (await _refresh(client, tokens.refresh_token, device)).json()
    # when the other device presents either of them with its own device id
    current = await _refresh(client, rotated["refresh_token"], "thief-phone")
    spent = await _refresh(client, tokens.refresh_token, "thief-phone")
    # then both are refused as belonging to another device, and nothing was minted
    assert (_errcode(current, 401), _errcode(spent, 401)) == (40105, 40105)
    # and the owner's session is untouched: its access token and refresh still work
    assert (await _access_works(client, rotated["access_token"])).status_code == 200
    assert (await _refresh(client, rotated["refresh_token"], device)).status_code == 200


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
