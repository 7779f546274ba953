"""Which auth routes are served, how they are documented, and the guard helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from backend.app import provide_container
from backend.errors import ApiError
from backend.http import route_handlers
from backend.http.auth import DevLoginController, auth_route_handlers
from backend.http.guards import SECURITY_SCHEMES, require_roles
from backend.services.actor import Actor
from backend.services.auth import parse_bearer
from backend.settings import Settings


def _settings(
    *, dev_login: bool, database_url: str | None = None, s3_endpoint: str | None = None
) -> Settings:
    return Settings(
        database_url=database_url,
        s3_endpoint=s3_endpoint,
        s3_access_key="k",
        s3_secret_key="s",
        var_dir=Path("unused"),
        token_secret=b"t" * 32,
        openid_pepper=b"p" * 32,
        dev_login=dev_login,
    )


@pytest.mark.parametrize(
    ("dev_login", "database_url", "s3_endpoint", "served"),
    [
        (True, None, None, True),
        (False, None, None, False),
        (True, "postgresql://db/x", None, False),
        (True, None, "http://s3:9000", False),
        (True, "postgresql://db/x", "http://s3:9000", False),
    ],
)
def test_dev_login_only_when_enabled_and_embedded(
    dev_login: bool, database_url: str | None, s3_endpoint: str | None, served: bool
) -> None:
    settings = _settings(dev_login=dev_login, database_url=database_url, s3_endpoint=s3_endpoint)

    assert (DevLoginController in route_handlers(settings)) is served


def _schema(settings: Settings) -> dict[str, Any]:
    # Only the auth controllers: other teams' routes are not this test's business.
    app = Litestar(
        route_handlers=auth_route_handlers(settings),
        dependencies={"container": Provide(provide_container, sync_to_thread=False)},
        openapi_config=OpenAPIConfig(title="t", version="1"),
    )
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def _operations(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for path in schema["paths"].values() for op in path.values()}


def test_operation_ids_and_bearer_security() -> None:
    ops = _operations(_schema(_settings(dev_login=True)))

    assert {"wxLogin", "refreshToken", "logout", "unbindDevice", "getMe", "devLogin"} <= set(ops)
    for public in ("wxLogin", "refreshToken", "devLogin"):
        assert "security" not in ops[public]
    for protected in ("logout", "unbindDevice", "getMe"):
        assert ops[protected]["security"] == [{name: []} for name in SECURITY_SCHEMES]
        assert "401" in ops[protected]["responses"]
    assert set(ops["wxLogin"]["responses"]) >= {"200", "401", "403", "429", "503"}
    assert "204" in ops["logout"]["responses"]


def test_dev_login_not_in_schema_when_external() -> None:
    settings = _settings(dev_login=True, database_url="postgresql://db/x")

    assert "devLogin" not in _operations(_schema(settings))


def test_body_lengths_are_in_the_schema() -> None:
    body = _schema(_settings(dev_login=False))["components"]["schemas"]["WxLoginBody"]

    assert (
        body["properties"]["device_id"]["minLength"],
        body["properties"]["device_id"]["maxLength"],
    ) == (1, 128)
    assert body["properties"]["code"]["maxLength"] == 128
    assert body["required"] == ["code", "device_id"]


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def", "abc.def"),
        ("bearer abc.def", "abc.def"),
        ("Bearer  abc.def ", "abc.def"),
    ],
)
def test_parse_bearer(header: str, token: str) -> None:
    assert parse_bearer(header) == token


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Token abc", "Bearer a b", "abc.def", "Bearer " + "x" * 4096],
)
def test_parse_bearer_refuses(header: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        parse_bearer(header)
    assert (caught.value.errcode, caught.value.status) == (40101, 401)


def _actor(role: str) -> Actor:
    return Actor(
        staff_id=uuid4(),
        name="n",
        role=role,
        scope_unit_id=uuid4(),
        device_id="d",
        session_id=uuid4(),
    )


def test_require_roles() -> None:
    require_roles(_actor("admin"), "admin", "supervisor")
    with pytest.raises(ApiError) as caught:
        require_roles(_actor("grid_member"), "admin")
    assert (caught.value.errcode, caught.value.status) == (40300, 403)
