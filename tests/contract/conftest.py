"""The app under contract test: the session container's, except that WeChat is a local
stand-in (``wxLogin`` must not reach api.weixin.qq.com), served over ASGI on the session loop."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from backend.app import create_app_for
from backend.auth import WeChatClient
from backend.bootstrap import Container
from backend.settings import Settings
from tests.support.wechat_standin import WeChatStandIn

Json = dict[str, Any]


@pytest.fixture(scope="module")
def standin(settings: Settings) -> Iterator[WeChatStandIn]:
    with WeChatStandIn(appid=settings.wechat_appid, secret=settings.wechat_secret) as server:
        yield server


@pytest.fixture(scope="module")
async def api(container: Container, standin: WeChatStandIn) -> AsyncIterator[httpx.AsyncClient]:
    """A copy of the session container (same pools) whose WeChat client asks the stand-in."""
    settings = dataclasses.replace(container.settings, wechat_base_url=standin.base_url)
    wechat = WeChatClient(
        base_url=standin.base_url,
        appid=settings.wechat_appid,
        secret=settings.wechat_secret,
        client=container.http,
    )
    local = dataclasses.replace(container, settings=settings, wechat=wechat, services={})
    app: Any = create_app_for(local)  # a Litestar app is an ASGI app; httpx's type is narrower
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture(scope="module")
async def raw_schema(api: httpx.AsyncClient) -> Json:
    """The published OpenAPI document, links included."""
    response = await api.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    document: Json = response.json()
    return document
