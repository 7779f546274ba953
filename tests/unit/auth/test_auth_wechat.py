"""WeChatClient's mapping of code2Session replies, and the in-memory fake."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from backend.auth import (
    CodeExchanger,
    FakeCodeExchanger,
    WeChatClient,
    WeChatLoginError,
    WeChatSession,
    hash_openid,
)

SECRET = "app-secret-never-shown"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
SESSION_KEY = "tiihtNczf5v6AKRyjwEUhQ=="

Handler = Callable[[httpx.Request], httpx.Response]


def _replying(body: bytes, *, status: int = 200) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"Content-Type": "text/plain"})

    return handle


def _raising(error: type[httpx.TransportError]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        raise error("boom", request=request)

    return handle


async def _exchange(handler: Handler, code: str = "061abc") -> WeChatSession:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = WeChatClient(appid="wx123", secret=SECRET, base_url="https://wx.test", client=http)
        return await client.code_to_session(code)


async def _error(handler: Handler, code: str = "061abc") -> WeChatLoginError:
    with pytest.raises(WeChatLoginError) as caught:
        await _exchange(handler, code)
    return caught.value


async def test_sends_the_code2session_request_like_wechat_expects() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"openid": OPENID, "session_key": SESSION_KEY})

    await _exchange(handle, "061abc")

    assert seen[0].method == "GET"
    assert seen[0].url.path == "/sns/jscode2session"
    assert dict(seen[0].url.params) == {
        "appid": "wx123",
        "secret": SECRET,
        "js_code": "061abc",
        "grant_type": "authorization_code",
    }


@pytest.mark.parametrize(
    "body",
    [
        b'{"openid":"%s","session_key":"%s","unionid":"u1"}',
        b'{"errcode":0,"errmsg":"ok","openid":"%s","session_key":"%s","unionid":"u1"}',
    ],
)
async def test_success_with_or_without_errcode(body: bytes) -> None:
    session = await _exchange(_replying(body % (OPENID.encode(), SESSION_KEY.encode())))
    assert session == WeChatSession(OPENID, SESSION_KEY, "u1")


async def test_unionid_is_optional() -> None:
    body = b'{"openid":"%s","session_key":"k"}' % OPENID.encode()
    assert (await _exchange(_replying(body))).unionid is None


@pytest.mark.parametrize(
    ("wx_errcode", "errcode", "http_status", "retryable"),
    [
        (40029, 40120, 401, False),
        (40163, 40121, 401, False),
        (45011, 42910, 429, True),
        (40226, 40320, 403, False),
        (-1, 50310, 503, True),
        (40125, 50210, 502, False),
        (40013, 50210, 502, False),
        (99999, 50210, 502, False),
    ],
)
async def test_wechat_errcodes_map_to_ours(
    wx_errcode: int, errcode: int, http_status: int, retryable: bool
) -> None:
    body = b'{"errcode":%d,"errmsg":"x, rid: 1"}' % wx_errcode
    error = await _error(_replying(body))
    assert (error.errcode, error.http_status, error.retryable) == (errcode, http_status, retryable)
    assert error.wx_errcode == wx_errcode
    assert " / " in error.errmsg  # Chinese / English


@pytest.mark.parametrize(
    "handler",
    [
        _replying(b"<html>502 Bad Gateway</html>"),
        _replying(b'{"errcode":"oops"}'),
        _replying(b'{"openid":"x","session_key":"k"}', status=502),
        _raising(httpx.ConnectError),
        _raising(httpx.ReadTimeout),
        _raising(httpx.ConnectTimeout),
    ],
)
async def test_unreachable_or_unreadable_wechat_is_retryable(handler: Handler) -> None:
    error = await _error(handler)
    assert (error.errcode, error.http_status, error.retryable) == (50311, 503, True)
    # Chaining would carry the request URL, and with it the AppSecret.
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


async def test_success_without_identity_is_a_bad_gateway() -> None:
    error = await _error(_replying(b'{"errcode":0,"session_key":"k"}'))
    assert (error.errcode, error.http_status) == (50210, 502)


@pytest.mark.parametrize("code", ["", "x" * 129, "abc\n"])
async def test_implausible_codes_are_refused_without_asking_wechat(code: str) -> None:
    calls: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200)

    error = await _error(handle, code)
    assert (error.errcode, error.wx_errcode, calls) == (40120, 0, [])


async def test_secrets_and_identities_stay_out_of_errors_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    body = b'{"errcode":40029,"errmsg":"invalid code %s"}' % OPENID.encode()
    error = await _error(_replying(body))
    await _error(_raising(httpx.ConnectError))
    session = await _exchange(
        _replying(b'{"openid":"%s","session_key":"%s"}' % (OPENID.encode(), SESSION_KEY.encode()))
    )
    shown = f"{error} {error!r} {session!r} {caplog.text}"
    assert OPENID not in shown
    assert SESSION_KEY not in shown
    assert SECRET not in shown


async def test_owned_client_is_closed_and_injected_one_is_not() -> None:
    async with WeChatClient(appid="wx", secret="s", base_url="https://wx.test") as owner:
        owned = owner._client
    assert owned.is_closed
    async with httpx.AsyncClient() as http:
        await WeChatClient(appid="wx", secret="s", client=http).aclose()
        assert not http.is_closed


def test_hash_openid_is_keyed_and_stable() -> None:
    digest = hash_openid(OPENID, pepper=b"pepper-1")
    assert digest == hash_openid(OPENID, pepper=b"pepper-1")
    assert digest != hash_openid(OPENID, pepper=b"pepper-2")
    assert len(digest) == 64
    assert OPENID not in digest
    with pytest.raises(ValueError, match="pepper"):
        hash_openid(OPENID, pepper=b"")


async def test_fake_exchanger_codes_are_single_use() -> None:
    fake = FakeCodeExchanger()
    exchanger: CodeExchanger = fake
    code = fake.issue_code(OPENID, unionid="u1")

    session = await exchanger.code_to_session(code)

    assert (session.openid, session.unionid) == (OPENID, "u1")
    with pytest.raises(WeChatLoginError) as replayed:
        await exchanger.code_to_session(code)
    assert replayed.value.errcode == 40121
    with pytest.raises(WeChatLoginError) as unknown:
        await exchanger.code_to_session("nope")
    assert unknown.value.errcode == 40120
    assert fake.calls == 3


async def test_fake_exchanger_fails_on_demand_without_burning_the_code() -> None:
    fake = FakeCodeExchanger()
    code = fake.issue_code(OPENID)
    fake.fail_next(45011)

    with pytest.raises(WeChatLoginError) as caught:
        await fake.code_to_session(code)

    assert caught.value.errcode == 42910
    assert (await fake.code_to_session(code)).openid == OPENID
