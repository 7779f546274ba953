"""Login, token refresh, logout, device unbinding and "who am I" for the mini-program."""

from __future__ import annotations

from typing import Annotated, Any, Final
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.responses import error_responses
from backend.http.wire import RequestBody
from backend.services.auth import TokenPair, auth_service
from backend.settings import Settings

__all__ = [
    "AuthController",
    "DevLoginBody",
    "DevLoginController",
    "Me",
    "MeController",
    "RefreshBody",
    "UnbindDeviceBody",
    "UnbindResult",
    "WxLoginBody",
    "auth_route_handlers",
]

DeviceId = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=128, description="Stable id the app generated for this phone"
    ),
]
WxCode = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=128, description="The code from wx.login(), valid 5 minutes"
    ),
]
BindingCode = Annotated[
    str, msgspec.Meta(min_length=1, max_length=32, description="One-time code an admin issued")
]
RefreshToken = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class WxLoginBody(RequestBody):
    code: WxCode
    device_id: DeviceId
    binding_code: BindingCode | None = None


class RefreshBody(RequestBody):
    refresh_token: RefreshToken
    device_id: DeviceId


class UnbindDeviceBody(RequestBody):
    staff_id: UUID
    device_id: DeviceId


class DevLoginBody(RequestBody):
    staff_id: UUID
    device_id: DeviceId


class UnbindResult(msgspec.Struct, kw_only=True):
    revoked_sessions: int


class Me(msgspec.Struct, kw_only=True):
    staff_id: UUID
    name: str
    role: str
    scope_unit_id: UUID


_WX_ERRORS: Final = error_responses(400, 401, 403, 429, 502, 503)


class AuthController(Controller):
    path = "/v1/auth"
    tags = ("auth",)
    dependencies = actor_dependency

    @post(
        "/wx-login",
        operation_id="wxLogin",
        status_code=HTTP_200_OK,
        responses=_WX_ERRORS,
        summary="Log in with a wx.login code (first time: with a binding code)",
    )
    async def wx_login(self, container: ContainerDep, data: JSONBody[WxLoginBody]) -> TokenPair:
        return await auth_service(container).wx_login(data.code, data.device_id, data.binding_code)

    @post(
        "/refresh",
        operation_id="refreshToken",
        status_code=HTTP_200_OK,
        responses=error_responses(400, 401),
        summary="Rotate the refresh token for a new pair",
    )
    async def refresh(self, container: ContainerDep, data: JSONBody[RefreshBody]) -> TokenPair:
        return await auth_service(container).refresh(data.refresh_token, data.device_id)

    @post(
        "/logout",
        operation_id="logout",
        status_code=HTTP_204_NO_CONTENT,
        security=BEARER,
        responses=error_responses(401),
        summary="Revoke this device's session",
    )
    async def logout(self, container: ContainerDep, actor: ActorDep) -> None:
        await auth_service(container).logout(actor)

    @post(
        "/devices/unbind",
        operation_id="unbindDevice",
        status_code=HTTP_200_OK,
        security=BEARER,
        responses=error_responses(400, 401, 403, 404),
        summary="Revoke all sessions of a staff member on a device (self, or admin in scope)",
    )
    async def unbind_device(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[UnbindDeviceBody]
    ) -> UnbindResult:
        revoked = await auth_service(container).unbind_device(actor, data.staff_id, data.device_id)
        return UnbindResult(revoked_sessions=revoked)


class MeController(Controller):
    path = "/v1/me"
    tags = ("auth",)
    dependencies = actor_dependency
    security = BEARER

    @get(
        operation_id="getMe", responses=error_responses(401), summary="The caller's role and scope"
    )
    async def me(self, actor: ActorDep) -> Me:
        return Me(
            staff_id=actor.staff_id,
            name=actor.name,
            role=actor.role,
            scope_unit_id=actor.scope_unit_id,
        )


class DevLoginController(Controller):
    """Only served when ``settings.dev_login`` and both services are the embedded ones."""

    path = "/v1/auth/dev-login"
    tags = ("auth",)

    @post(
        operation_id="devLogin",
        status_code=HTTP_200_OK,
        responses=error_responses(400, 401),
        summary="Development only: log in as an active staff member without WeChat",
    )
    async def dev_login(self, container: ContainerDep, data: JSONBody[DevLoginBody]) -> TokenPair:
        return await auth_service(container).dev_login(data.staff_id, data.device_id)


def auth_route_handlers(settings: Settings) -> list[Any]:
    handlers: list[Any] = [AuthController, MeController]
    if settings.dev_login and settings.embedded:
        handlers.append(DevLoginController)
    return handlers
