"""WeChatClient against the local code2Session stand-in, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from backend.auth import WeChatClient, WeChatLoginError
from tests.support.wechat_standin import CODE_TTL_SECONDS, ManualClock, WeChatStandIn

OPENID = "o6_standin_member_001"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def standin(clock: ManualClock) -> Iterator[WeChatStandIn]:
    with WeChatStandIn(clock=clock) as server:
        yield server


@pytest.fixture
async def client(standin: WeChatStandIn) -> AsyncIterator[WeChatClient]:
    async with WeChatClient(
        appid=standin.appid, secret=standin.secret, base_url=standin.base_url, timeout=2.0
    ) as wechat:
        yield wechat


async def _login_error(client: WeChatClient, code: str) -> WeChatLoginError:
    with pytest.raises(WeChatLoginError) as caught:
        await client.code_to_session(code)
    return caught.value


async def test_fresh_code_yields_a_session(client: WeChatClient, standin: WeChatStandIn) -> None:
    session = await client.code_to_session(standin.issue_code(OPENID, unionid="union-1"))

    assert (session.openid, session.unionid) == (OPENID, "union-1")
    assert session.session_key
    assert standin.calls == 1


async def test_session_without_unionid(client: WeChatClient, standin: WeChatStandIn) -> None:
    assert (await client.code_to_session(standin.issue_code(OPENID))).unionid is None


async def test_replayed_code_is_refused(client: WeChatClient, standin: WeChatStandIn) -> None:
    code = standin.issue_code(OPENID)
    await client.code_to_session(code)

    error = await _login_error(client, code)

    assert (error.errcode, error.http_status, error.wx_errcode) == (40121, 401, 40163)


async def test_code_expires_after_five_minutes(
    client: WeChatClient, standin: WeChatStandIn, clock: ManualClock
) -> None:
    almost, expired = standin.issue_code(OPENID), standin.issue_code(OPENID)
    clock.advance(CODE_TTL_SECONDS - 1)
    await client.code_to_session(almost)
    clock.advance(1)

    error = await _login_error(client, expired)

    assert (error.errcode, error.http_status, error.wx_errcode) == (40120, 401, 40029)


async def test_unknown_code_is_invalid(client: WeChatClient) -> None:
    error = await _login_error(client, "never-issued")
    assert (error.errcode, error.http_status, error.wx_errcode) == (40120, 401, 40029)


@pytest.mark.parametrize(
    ("wx_errcode", "errcode", "http_status", "retryable"),
    [(45011, 42910, 429, True), (40226, 40320, 403, False), (-1, 50310, 503, True)],
)
async def test_failing_codes_keep_failing(
    client: WeChatClient,
    standin: WeChatStandIn,
    wx_errcode: int,
    errcode: int,
    http_status: int,
    retryable: bool,
) -> None:
    code = standin.failing_code(wx_errcode)
    for _ in range(2):
        error = await _login_error(client, code)
        assert (error.errcode, error.http_status, error.retryable) == (
            errcode,
            http_status,
            retryable,
        )
        assert error.wx_errcode == wx_errcode


async def test_fail_next_spares_the_code(client: WeChatClient, standin: WeChatStandIn) -> None:
    code = standin.issue_code(OPENID)
    standin.fail_next(-1)

    assert (await _login_error(client, code)).errcode == 50310
    assert (await client.code_to_session(code)).openid == OPENID


async def test_garbled_reply_is_retryable(client: WeChatClient, standin: WeChatStandIn) -> None:
    standin.garble_next()
    error = await _login_error(client, standin.issue_code(OPENID))
    assert (error.errcode, error.http_status, error.retryable) == (50311, 503, True)


async def test_wrong_secret_is_our_misconfiguration(standin: WeChatStandIn) -> None:
    async with WeChatClient(
        appid=standin.appid, secret="stale-secret", base_url=standin.base_url
    ) as client:
        error = await _login_error(client, standin.issue_code(OPENID))

    assert (error.errcode, error.http_status, error.wx_errcode) == (50210, 502, 40125)
    assert not error.retryable


async def test_server_down_is_retryable(clock: ManualClock) -> None:
    standin = WeChatStandIn(clock=clock).start()
    base_url, code = standin.base_url, standin.issue_code(OPENID)
    standin.stop()

    async with WeChatClient(
        appid=standin.appid, secret=standin.secret, base_url=base_url, timeout=2.0
    ) as client:
        error = await _login_error(client, code)

    assert (error.errcode, error.http_status, error.retryable) == (50311, 503, True)
