"""The auth API against real PostgreSQL, the projections and the code2Session stand-in.

This module runs its own app over a second container, configured exactly as ``gridledger serve``
configures the embedded default (settings without service URLs, URLs passed in), with WeChat
pointed at the stand-in: that is the configuration in which dev-login is served. The container
lives on the test loop like the session one and runs no projection worker of its own (the
session container's worker folds the shared database). The shared session ``client`` has
external service URLs, so it is used to check that dev-login is absent there.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

import httpx
import pytest
from anyio import to_thread

from backend.app import create_app_for
from backend.auth import hash_refresh_token, new_binding_code
from backend.bootstrap import Container, container_lifespan
from backend.services.auth import auth_service
from backend.settings import Settings
from events.grid import GridUnit
from events.meta import system_meta
from events.staff import Staff
from tests.support.wechat_standin import CODE_TTL_SECONDS, ManualClock, WeChatStandIn


class Client(httpx.AsyncClient):
    """The module's HTTP client, carrying the container its app runs on."""

    container: Container


META = system_meta("test")
T = TypeVar("T")


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def standin(settings: Settings, clock: ManualClock) -> Iterator[WeChatStandIn]:
    with WeChatStandIn(
        appid=settings.wechat_appid, secret=settings.wechat_secret, clock=clock
    ) as server:
        yield server


@pytest.fixture(scope="module")
async def api(
    settings: Settings, standin: WeChatStandIn, container: Container
) -> AsyncIterator[Client]:
    # ``container`` (the session's) runs the projection worker this module's app relies on.
    assert settings.database_url
    assert settings.s3_endpoint
    embedded = dataclasses.replace(
        settings, database_url=None, s3_endpoint=None, wechat_base_url=standin.base_url
    )
    async with container_lifespan(
        embedded,
        database_url=settings.database_url,
        s3_endpoint=settings.s3_endpoint,
        run_workers=False,
    ) as container:
        transport = httpx.ASGITransport(app=create_app_for(container))
        async with Client(transport=transport, base_url="http://testserver.local") as http:
            http.container = container
            yield http


def _container(api: Client) -> Container:
    return api.container


@pytest.fixture(scope="module")
def c(api: Client) -> Container:
    return _container(api)


# -- domain set-up through the event log ----------------------------------------------------


async def _on_app(api: Client, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run ``fn`` against the module app's container (it shares the test loop)."""
    return await fn(*args)


async def _save(api: Client, *aggregates: Any) -> None:
    c = _container(api)
    recordings = await to_thread.run_sync(lambda: c.event_log.save(*aggregates))
    assert await _on_app(api, c.runner.wait_for, recordings[-1].notification.id)


async def _town(api: Client) -> UUID:
    code = str(secrets.randbelow(9 * 10**11) + 10**11)  # 12 digits, fresh per test
    unit = GridUnit.create(
        code=code,
        name="测试镇",
        level=1,
        parent_id=None,
        parent_level=None,
        parent_code=None,
        effective_from=date.today(),
        meta=META,
    )
    await _save(api, unit)
    return unit.id


async def _appoint(api: Client, role: str = "grid_member", *, scope: UUID | None = None) -> UUID:
    staff = Staff.appoint(
        name="张三",
        work_phone="13800138000",
        role=role,
        scope_unit_id=scope or await _town(api),
        effective_from=date.today(),
        meta=META,
    )
    await _save(api, staff)
    return staff.id


async def _change(api: Client, staff_id: UUID, command: Callable[[Staff], None]) -> None:
    log = _container(api).event_log
    staff: Staff = await to_thread.run_sync(lambda: log.repository.get(staff_id))
    command(staff)
    await _save(api, staff)


async def _binding_code(api: Client, staff_id: UUID, *, ttl: timedelta = timedelta(hours=1)) -> str:
    code, code_hash = new_binding_code()
    expires = datetime.now(UTC) + ttl
    await _change(api, staff_id, lambda s: s.issue_binding_code(code_hash, expires, meta=META))
    return code


def _openid() -> str:
    return "o_" + secrets.token_urlsafe(12)


def _device() -> str:
    return "dev-" + secrets.token_hex(6)


async def _login(
    api: Client, standin: WeChatStandIn, openid: str, device: str, binding_code: str | None = None
) -> Any:
    body = {"code": standin.issue_code(openid), "device_id": device}
    if binding_code is not None:
        body["binding_code"] = binding_code
    return await api.post("/v1/auth/wx-login", json=body)


async def _bound(
    api: Client,
    standin: WeChatStandIn,
    role: str = "grid_member",
    *,
    scope: UUID | None = None,
) -> tuple[UUID, str, dict[str, Any]]:
    """A staff member who has bound WeChat and is logged in: (staff_id, device, tokens)."""
    staff_id = await _appoint(api, role, scope=scope)
    device = _device()
    response = await _login(api, standin, _openid(), device, await _binding_code(api, staff_id))
    assert response.status_code == 200, response.text
    return staff_id, device, response.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _errcode(response: Any, status: int) -> int:
    assert response.status_code == status, response.text
    errcode: int = response.json()["errcode"]
    return errcode


# -- WeChat login and binding ---------------------------------------------------------------


async def test_binding_code_binds_then_plain_login_works(
    c: Container, api: Client, standin: WeChatStandIn
) -> None:
    staff_id = await _appoint(api, "grid_head")
    openid, device = _openid(), _device()

    first = await _login(api, standin, openid, device, await _binding_code(api, staff_id))
    again = await _login(api, standin, openid, device)

    for response in (first, again):
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {
            "access_token",
            "expires_in",
            "refresh_token",
            "staff_id",
            "role",
            "scope_unit_id",
            "name",
        }  # no session_key, no openid
        assert (body["staff_id"], body["role"], body["expires_in"]) == (
            str(staff_id),
            "grid_head",
            900,
        )
    me = await api.get("/v1/me", headers=_bearer(again.json()["access_token"]))
    assert me.status_code == 200
    assert me.json()["staff_id"] == str(staff_id)
    stored = await _on_app(
        api, c.pool.fetch, "SELECT refresh_hash FROM device_sessions WHERE staff_id = $1", staff_id
    )
    assert {r["refresh_hash"] for r in stored} == {
        hash_refresh_token(first.json()["refresh_token"]),
        hash_refresh_token(again.json()["refresh_token"]),
    }


async def test_binding_code_is_case_and_space_insensitive(
    c: Container, api: Client, standin: WeChatStandIn
) -> None:
    staff_id = await _appoint(api)
    code = await _binding_code(api, staff_id)
    typed = f"{code[:4].lower()} {code[4:]}"

    response = await _login(api, standin, _openid(), _device(), typed)

    assert response.status_code == 200, response.text


async def test_wrong_binding_code_is_refused(
    c: Container, api: Client, standin: WeChatStandIn
) -> None:
    await _binding_code(api, await _appoint(api))
    wrong, _ = new_binding_code()

    response = await _login(api, standin, _openid(), _device(), wrong)

    assert _errcode(response, 401) == 40130


async def test_used_binding_code_is_refused(
    c: Container, api: Client, standin: WeChatStandIn
) -> None:
    staff_id = await _appoint(api)
    code = await _binding_code(api, staff_id)
    assert (await _login(api, standin, _openid(), _device(), code)).status_code == 200

    response = await _login(api, standin, _openid(), _device(), code)

    assert _errcode(response, 401) == 40130


async def test_expired_binding_code_is_refused(
    c: Container, api: Client, standin: WeChatStandIn
) -> None:
    staff_id = await _appoint(api)
    code = await _binding_code(api, staff_id, ttl=timedelta(seconds=-1))

    response = await _login(api, standin, _openid(), _device(), code)

    assert _errcode(response, 401) == 40130
    assert response.json()["reason"] == "expired"


async def test_unbound_account_without_code_is_refused(api: Client, standin: WeChatStandIn) -> None:
    response = await _login(api, standin, _openid(), _device())

    assert _errcode(response, 401) == 40122


async def test_replayed_wx_code_is_refused(
    c: Container, api: Client, standin: WeChatStandIn
) -> None:
    staff_id = await _appoint(api)
    body = {
        "code": standin.issue_code(_openid()),
        "device_id": _device(),
        "binding_code": await _binding_code(api, staff_id),
    }
    assert (await api.post("/v1/auth/wx-login", json=body)).status_code == 200

    response = await api.post("/v1/auth/wx-login", json=body)

    assert _errcode(response, 401) == 40121


async def test_expired_or_unknown_wx_code_is_refused(
    api: Client, standin: WeChatStandIn, clock: ManualClock
) -> None:
    stale = standin.issue_code(_openid())
    clock.advance(CODE_TTL_SECONDS)

    for code in (stale, "never-issued"):
        response = await api.post("/v1/auth/wx-login", json={"code": code, "device_id": "d"})
        assert _errcode(response, 401) == 40120


@pytest.mark.parametrize(
    ("wx_errcode", "status", "errcode"),
    [(45011, 429, 42910), (40226, 403, 40320), (-1, 503, 50310)],
)
async def test_wechat_failures_keep_their_errcode(
    api: Client, standin: WeChatStandIn, wx_errcode: int, status: int, errcode: int
) -> None:
    body = {"code": standin.failing_code(wx_errcode), "device_id": _device()}

    response = await api.post("/v1/auth/wx-login", json=body)

    assert _errcode(response, status) == errcode
    assert "rid" not in response.text  # WeChat's own message stays on the server


@pytest.mark.parametrize(
    "body",
    [
        {"code": "", "device_id": "d"},
        {"code": "c", "device_id": "d" * 129},
        {"code": "c" * 129, "device_id": "d"},
        {"code": "c", "device_id": "d", "binding_code": "B" * 33},
        {"device_id": "d"},
    ],
)
async def test_bad_login_body_is_400_without_calling_wechat(
    api: Client, standin: WeChatStandIn, body: dict[str, Any]
) -> None:
    before = standin.calls

    response = await api.post("/v1/auth/wx-login", json=body)

    assert _errcode(response, 400) == 40000
    assert standin.calls == before


# -- refresh, logout, unbinding ---------------------------------------------------------------


async def test_refresh_rotates_the_token(c: Container, api: Client, standin: WeChatStandIn) -> None:
    _, device, tokens = await _bound(api, standin)

    fresh = await api.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"], "device_id": device}
    )
    assert fresh.status_code == 200, fresh.text
    replay = await api.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"], "device_id": device}
    )

    # within the reuse grace (a lost response) the spent token yields the same successor;
    # reuse after it revokes the session (test_security_tokens.py)
    assert replay.status_code == 200, replay.text
    assert replay.json()["refresh_token"] == fresh.json()["refresh_token"]
    assert fresh.json()["refresh_token"] != tokens["refresh_token"]
    assert (
        await api.get("/v1/me", headers=_bearer(fresh.json()["access_token"]))
    ).status_code == 200
    again = await api.post(
        "/v1/auth/refresh",
        json={"refresh_token": fresh.json()["refresh_token"], "device_id": device},
    )
    assert again.status_code == 200


async def test_refresh_from_another_device_is_refused(
    c: Container, api: Client, standin: WeChatStandIn
) -> None:
    _, _, tokens = await _bound(api, standin)

    response = await api.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"], "device_id": _device()}
    )

    assert _errcode(response, 401) == 40105


async def test_unknown_refresh_token_is_refused(api: Client) -> None:
    response = await api.post("/v1/auth/refresh", json={"refresh_token": "nope", "device_id": "d"})

    assert _errcode(response, 401) == 40104


async def test_expired_refresh_token_is_refused(
    c: Container, api: Client, standin: WeChatStandIn
) -> None:
    _, device, tokens = await _bound(api, standin)
    await _on_app(
        api,
        c.pool.execute,
        "UPDATE device_sessions SET expires_at = now() - interval '1 second' "
        "WHERE refresh_hash = $1",
        hash_refresh_token(tokens["refresh_token"]),
    )

    response = await api.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"], "device_id": device}
    )

    assert _errcode(response, 401) == 40106


async def test_logout_revokes_the_session(
    c: Container, api: Client, standin: WeChatStandIn
) -> None:
    _, device, tokens = await _bound(api, standin)

    out = await api.post("/v1/auth/logout", headers=_bearer(tokens["access_token"]))

    assert out.status_code == 204
    assert _errcode(await api.get("/v1/me", headers=_bearer(tokens["access_token"])), 401) == 40104
    refresh = await api.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"], "device_id": device}
    )
    assert _errcode(refresh, 401) == 40104


async def test_relieved_staff_is_shut_out(
    c: Container, api: Client, standin: WeChatStandIn
) -> None:
    staff_id, device, tokens = await _bound(api, standin)

    await _change(api, staff_id, lambda s: s.relieve(date.today(), "调离", meta=META))

    assert _errcode(await api.get("/v1/me", headers=_bearer(tokens["access_token"])), 401) == 40107
    body = {"refresh_token": tokens["refresh_token"], "device_id": device}
    assert _errcode(await api.post("/v1/auth/refresh", json=body), 401) == 40107
    # The refusal also revoked the session.
    assert _errcode(await api.post("/v1/auth/refresh", json=body), 401) == 40104


async def test_role_and_scope_come_from_the_roster_not_the_token(
    c: Container, api: Client, standin: WeChatStandIn
) -> None:
    staff_id, _, tokens = await _bound(api, standin)
    other_town = await _town(api)

    await _change(
        api, staff_id, lambda s: s.reassign("supervisor", other_town, date.today(), meta=META)
    )

    me = await api.get("/v1/me", headers=_bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert (me.json()["role"], me.json()["scope_unit_id"]) == ("supervisor", str(other_town))


async def test_revoke_staff_sessions(c: Container, api: Client, standin: WeChatStandIn) -> None:
    staff_id, _, tokens = await _bound(api, standin)

    revoked = await _on_app(api, auth_service(c).revoke_staff_sessions, staff_id, "relieved")

    assert revoked == 1

    assert _errcode(await api.get("/v1/me", headers=_bearer(tokens["access_token"])), 401) == 40104


async def test_member_unbinds_own_device(c: Container, api: Client, standin: WeChatStandIn) -> None:
    staff_id, device, tokens = await _bound(api, standin)
    headers = _bearer(tokens["access_token"])

    response = await api.post(
        "/v1/auth/devices/unbind",
        headers=headers,
        json={"staff_id": str(staff_id), "device_id": device},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"revoked_sessions": 1}
    assert _errcode(await api.get("/v1/me", headers=headers), 401) == 40104


async def test_member_cannot_unbind_someone_else(
    c: Container, api: Client, standin: WeChatStandIn
) -> None:
    _, _, tokens = await _bound(api, standin)
    other_id, other_device, _ = await _bound(api, standin)

    response = await api.post(
        "/v1/auth/devices/unbind",
        headers=_bearer(tokens["access_token"]),
        json={"staff_id": str(other_id), "device_id": other_device},
    )

    assert _errcode(response, 403) == 40300


async def test_admin_unbinds_within_scope_only(
    c: Container, api: Client, standin: WeChatStandIn
) -> None:
    town = await _town(api)
    _, _, admin = await _bound(api, standin, "admin", scope=town)
    inside_id, inside_device, inside = await _bound(api, standin, scope=town)
    outside_id, outside_device, _ = await _bound(api, standin)
    headers = _bearer(admin["access_token"])

    ok = await api.post(
        "/v1/auth/devices/unbind",
        headers=headers,
        json={"staff_id": str(inside_id), "device_id": inside_device},
    )
    refused = await api.post(
        "/v1/auth/devices/unbind",
        headers=headers,
        json={"staff_id": str(outside_id), "device_id": outside_device},
    )
    unknown = await api.post(
        "/v1/auth/devices/unbind",
        headers=headers,
        json={"staff_id": str(uuid4()), "device_id": "d"},
    )

    assert ok.json() == {"revoked_sessions": 1}
    assert _errcode(await api.get("/v1/me", headers=_bearer(inside["access_token"])), 401) == 40104
    assert _errcode(refused, 403) == 40301
    assert _errcode(unknown, 404) == 40400


# -- access tokens --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer garbage",
        "Basic dXNlcjpwdw==",
        "Bearer a.b",
        "Bearer " + "x" * 5000,
    ],
)
async def test_missing_or_malformed_token_is_40101(api: Client, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}

    response = await api.get("/v1/me", headers=headers)

    assert _errcode(response, 401) == 40101


async def test_expired_token_is_40103(c: Container, api: Client, standin: WeChatStandIn) -> None:
    staff_id, device, tokens = await _bound(api, standin)
    claims = c.tokens.verify(tokens["access_token"], now=datetime.now(UTC))
    old = c.tokens.issue(
        staff_id=staff_id,
        device_id=device,
        session_id=claims.session_id,
        now=datetime.now(UTC) - timedelta(minutes=16),
    )

    assert _errcode(await api.get("/v1/me", headers=_bearer(old)), 401) == 40103


async def test_tampered_token_is_40102(c: Container, api: Client, standin: WeChatStandIn) -> None:
    _, _, tokens = await _bound(api, standin)
    payload, signature = tokens["access_token"].split(".")
    forged = ("A" if payload[0] != "A" else "B") + payload[1:] + "." + signature

    assert _errcode(await api.get("/v1/me", headers=_bearer(forged)), 401) == 40102


async def test_logout_needs_a_token(api: Client) -> None:
    assert _errcode(await api.post("/v1/auth/logout"), 401) == 40101


# -- dev login ------------------------------------------------------------------------------


async def test_dev_login_in_embedded_setup(c: Container, api: Client) -> None:
    staff_id = await _appoint(api, "auditor")

    response = await api.post(
        "/v1/auth/dev-login", json={"staff_id": str(staff_id), "device_id": "browser"}
    )

    assert response.status_code == 200, response.text
    me = await api.get("/v1/me", headers=_bearer(response.json()["access_token"]))
    assert (me.json()["staff_id"], me.json()["role"]) == (str(staff_id), "auditor")


async def test_dev_login_refuses_unknown_or_relieved_staff(c: Container, api: Client) -> None:
    relieved = await _appoint(api)
    await _change(api, relieved, lambda s: s.relieve(date.today(), "调离", meta=META))

    for staff_id in (uuid4(), relieved):
        response = await api.post(
            "/v1/auth/dev-login", json={"staff_id": str(staff_id), "device_id": "browser"}
        )
        assert _errcode(response, 401) == 40107


async def test_dev_login_absent_with_external_services(client: Client, settings: Settings) -> None:
    assert settings.dev_login
    assert not settings.embedded

    response = await client.post(
        "/v1/auth/dev-login", json={"staff_id": str(uuid4()), "device_id": "browser"}
    )

    assert _errcode(response, 404) == 40400
