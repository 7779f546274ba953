"""Authentication for protected controllers: the ``actor`` dependency and role checks.

A protected controller sets ``dependencies = actor_dependency`` and ``security = BEARER``, and
its handlers take ``actor: ActorDep``. A missing, malformed, expired or revoked credential ends
the request with 401 before the handler runs. Register :data:`SECURITY_SCHEMES` under the
OpenAPI components so ``BEARER`` resolves.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import SecurityRequirement, SecurityScheme

from backend.errors import ApiError
from backend.http.deps import ContainerDep
from backend.http.responses import ErrorBody
from backend.services.actor import Actor
from backend.services.auth import auth_service

__all__ = [
    "BEARER",
    "SECURITY_SCHEMES",
    "ActorDep",
    "ErrorBody",
    "actor_dependency",
    "provide_actor",
    "require_roles",
]

BEARER_SCHEME: Final = "bearerAuth"
BEARER: Final[list[SecurityRequirement]] = [{BEARER_SCHEME: []}]
"""``security=`` value for handlers/controllers that need an access token."""
SECURITY_SCHEMES: Final[dict[str, SecurityScheme]] = {
    BEARER_SCHEME: SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="gridledger access token",
        description="Access token from /v1/auth/wx-login or /v1/auth/refresh (15 minutes).",
    ),
}
"""For ``OpenAPIConfig(components=Components(security_schemes=SECURITY_SCHEMES))``."""


async def provide_actor(request: Request[Any, Any, Any], container: ContainerDep) -> Actor:
    return await auth_service(container).authenticate(request.headers.get("authorization"))


ActorDep = NamedDependency[Actor]
actor_dependency: Final[dict[str, Provide]] = {"actor": Provide(provide_actor)}


def require_roles(actor: Actor, *roles: str) -> None:
    """ApiError 40300 unless the actor holds one of ``roles``."""
    if actor.role not in roles:
        raise ApiError(
            40300,
            "当前角色无权执行此操作 / role not allowed to perform this operation",
            required=list(roles),
        )
