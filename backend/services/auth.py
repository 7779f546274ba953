"""Login, sessions and request authentication (privacy.md rules 8–9).

A *session* is one row of ``device_sessions``: one staff member on one device, holding the hash
of the current refresh token (spent ones are remembered for reuse detection, see
:mod:`backend.services.auth_sessions`). Access tokens are short-lived (15 min) and name the
session; every request re-reads the session (revoked?) and the staff roster (relieved? role?
scope?), so nothing the token says about authority is ever trusted. WeChat's ``session_key`` is
dropped on the floor: it is neither stored nor returned.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID, uuid4

import asyncpg
import msgspec
from anyio import to_thread
from eventsourcing.persistence import IntegrityError

from backend.auth import (
    TokenError,
    WeChatLoginError,
    hash_binding_code,
    hash_openid,
    new_refresh_token,
)
from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.auth_sessions import (
    RefreshRotation,
    relieved,
    revoke_sessions,
    revoked,
)
from events.errors import BindingCodeInvalid
from events.meta import EventMeta
from events.staff import Staff
from projections.grid_tree import unit_in_scope
from projections.staff_roster import get_staff, staff_by_binding_code_hash, staff_by_openid_hash

__all__ = ["SESSION_TTL", "AuthService", "TokenPair", "auth_service", "parse_bearer"]

_log = logging.getLogger(__name__)

SESSION_TTL: Final = timedelta(days=30)
"""Lifetime of a refresh token; each refresh slides it (an idle phone logs in again)."""
_MAX_AUTHORIZATION_LENGTH: Final = 2048
_BIND_LOCK_NAMESPACE: Final = b"gridledger:bind-openid:"


class TokenPair(msgspec.Struct, kw_only=True):
    """What a successful login or refresh hands the phone."""

    access_token: str
    expires_in: int
    """Seconds until ``access_token`` expires."""
    refresh_token: str
    staff_id: UUID
    role: str
    scope_unit_id: UUID
    name: str


def _api(error: TokenError | WeChatLoginError) -> ApiError:
    return ApiError(error.errcode, error.errmsg)


def parse_bearer(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; ApiError 40101 otherwise."""
    if not authorization or len(authorization) > _MAX_AUTHORIZATION_LENGTH:
        raise ApiError(40101, "缺少访问令牌 / missing access token")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise ApiError(40101, "令牌格式错误 / malformed token")
    return token


def _bind_lock_key(openid_hash: str) -> int:
    digest = hashlib.sha256(_BIND_LOCK_NAMESPACE + openid_hash.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AuthService:
    """Stateless apart from the container; cheap to build, see :func:`auth_service`."""

    def __init__(
        self, container: Container, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._c = container
        self._pool: asyncpg.Pool = container.pool
        self._clock = clock
        self._rotation = RefreshRotation(
            token_secret=container.settings.token_secret,
            grace=timedelta(seconds=container.settings.refresh_reuse_grace_seconds),
            session_ttl=SESSION_TTL,
        )

    # -- login ---------------------------------------------------------------------------

    async def wx_login(self, code: str, device_id: str, binding_code: str | None) -> TokenPair:
        """Exchange a ``wx.login`` code; a first login also presents the binding code."""
        try:
            wx = await self._c.wechat.code_to_session(code)
        except WeChatLoginError as error:
            raise _api(error) from None
        openid_hash = hash_openid(wx.openid, pepper=self._c.settings.openid_pepper)
        staff = await staff_by_openid_hash(self._pool, openid_hash)
        if staff is None:
            if binding_code is None:
                raise ApiError(
                    40122,
                    "微信账号未绑定，请输入绑定码 / WeChat account not bound; "
                    "enter your binding code",
                )
            staff = await self._bind(openid_hash, binding_code, device_id)
        return await self._open_session(staff, device_id)

    async def dev_login(self, staff_id: UUID, device_id: str) -> TokenPair:
        """Log in as any active staff member; only mounted for the embedded dev setup."""
        staff = await get_staff(self._pool, staff_id)
        if staff is None or staff["status"] != "active":
            raise relieved()
        return await self._open_session(staff, device_id)

    async def _bind(self, openid_hash: str, binding_code: str, device_id: str) -> asyncpg.Record:
        # One binder per openid at a time, across processes: two concurrent first logins with
        # two codes would otherwise bind one WeChat account to two staff members.
        async with self._pool.acquire() as lock_conn, lock_conn.transaction():
            # A transaction-scoped lock is released even if this task dies half-way.
            await lock_conn.execute("SELECT pg_advisory_xact_lock($1)", _bind_lock_key(openid_hash))
            if (bound := await staff_by_openid_hash(self._pool, openid_hash)) is not None:
                return bound
            return await self._bind_locked(openid_hash, binding_code, device_id)

    async def _bind_locked(
        self, openid_hash: str, binding_code: str, device_id: str
    ) -> asyncpg.Record:
        code_hash = hash_binding_code(binding_code)
        staff = await staff_by_binding_code_hash(self._pool, code_hash)
        if staff is None:
            raise ApiError(
                40130,
                "绑定码无效、已过期或已使用 / binding code invalid, expired or used",
                reason="unknown",
            )
        meta = EventMeta(
            actor_id=staff["id"],
            role=staff["role"],
            device_id=device_id,
            client_time=None,
            scope_unit_ids=(staff["scope_unit_id"],),
        )
        now = self._clock()

        def bind() -> int:
            aggregate: Staff = self._c.event_log.repository.get(staff["id"])
            aggregate.bind_wechat(openid_hash, code_hash, now, meta=meta)
            recordings = self._c.event_log.save(aggregate)
            return recordings[-1].notification.id

        try:
            position = await to_thread.run_sync(bind)
        except BindingCodeInvalid as error:
            raise ApiError(
                40130,
                "绑定码无效、已过期或已使用 / binding code invalid, expired or used",
                reason=str(error.details.get("reason", "")),
            ) from None
        except IntegrityError:
            # Someone else changed this staff member at the same moment (e.g. used the code).
            raise ApiError(
                40130, "绑定码已被使用 / binding code already used", reason="used"
            ) from None
        if not await self._c.runner.wait_for(position):
            # The session does not depend on the binding being folded yet; the next login does.
            _log.warning("staff roster lagging after a WeChat binding (position %s)", position)
        return staff

    async def _open_session(self, staff: asyncpg.Record, device_id: str) -> TokenPair:
        now = self._clock()
        session_id = uuid4()
        refresh_token, refresh_hash = new_refresh_token()
        await self._pool.execute(
            "INSERT INTO device_sessions (session_id, staff_id, device_id, refresh_hash, "
            "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            session_id,
            staff["id"],
            device_id,
            refresh_hash,
            now,
            now + SESSION_TTL,
        )
        return self._pair(staff, device_id, session_id, refresh_token, now)

    def _pair(
        self,
        staff: asyncpg.Record,
        device_id: str,
        session_id: UUID,
        refresh_token: str,
        now: datetime,
    ) -> TokenPair:
        access = self._c.tokens.issue(
            staff_id=staff["id"], device_id=device_id, session_id=session_id, now=now
        )
        return TokenPair(
            access_token=access,
            expires_in=int(self._c.tokens.ttl.total_seconds()),
            refresh_token=refresh_token,
            staff_id=staff["id"],
            role=staff["role"],
            scope_unit_id=staff["scope_unit_id"],
            name=staff["name"],
        )

    # -- refresh and revocation ----------------------------------------------------------

    async def refresh(self, refresh_token: str, device_id: str) -> TokenPair:
        """Swap a refresh token for a new pair; the presented one is spent.

        Presented again within the grace window it yields the same refresh token (a lost
        response); after that, or once its successor was used, the session is revoked (40192).
        See :mod:`backend.services.auth_sessions`.
        """
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            outcome = await self._rotation.rotate(conn, refresh_token, device_id, now)
        if isinstance(outcome, ApiError):  # raised after commit, so a revocation sticks
            raise outcome
        return self._pair(
            outcome.staff, outcome.device_id, outcome.session_id, outcome.refresh_token, now
        )

    async def logout(self, actor: Actor) -> None:
        if actor.session_id is not None:
            await revoke_sessions(
                self._pool, "session_id = $1", actor.session_id, reason="logout", now=self._clock()
            )

    async def unbind_device(self, actor: Actor, staff_id: UUID, device_id: str) -> int:
        """Revoke every session of ``staff_id`` on ``device_id`` (lost or handed-on phone).

        Anyone may do it for themselves; an admin for staff within their scope. Returns how
        many live sessions were revoked.
        """
        if staff_id != actor.staff_id:
            if actor.role != "admin":
                raise ApiError(
                    40300,
                    "只有管理员可以解绑他人设备 / only an admin may unbind another person's device",
                )
            target = await get_staff(self._pool, staff_id)
            if target is None:
                raise ApiError(40400, "no such resource")
            if not await unit_in_scope(self._pool, target["scope_unit_id"], actor.scope_unit_id):
                raise ApiError(40301, "该人员不在您的管辖范围内 / staff member outside your scope")
        return await revoke_sessions(
            self._pool,
            "staff_id = $1 AND device_id = $2",
            staff_id,
            device_id,
            reason="device unbound",
            now=self._clock(),
        )

    async def revoke_staff_sessions(self, staff_id: UUID, reason: str) -> int:
        """Revoke every live session of a staff member (relief, compromise)."""
        return await revoke_sessions(
            self._pool, "staff_id = $1", staff_id, reason=reason, now=self._clock()
        )

    # -- per request -----------------------------------------------------------------------

    async def authenticate(self, authorization: str | None, now: datetime | None = None) -> Actor:
        """The caller behind an ``Authorization`` header, with role and scope from the roster."""
        token = parse_bearer(authorization)
        try:
            claims = self._c.tokens.verify(token, now=now or self._clock())
        except TokenError as error:
            raise _api(error) from None
        # The roster first: a relieved member is told so, not just that the session ended.
        staff = await get_staff(self._pool, claims.staff_id)
        if staff is None or staff["status"] != "active":
            raise relieved()
        session = await self._pool.fetchrow(
            "SELECT staff_id, device_id, revoked_at FROM device_sessions WHERE session_id = $1",
            claims.session_id,
        )
        if (
            session is None
            or session["revoked_at"] is not None
            or session["staff_id"] != claims.staff_id
            or session["device_id"] != claims.device_id
        ):
            raise revoked()
        return Actor(
            staff_id=staff["id"],
            name=staff["name"],
            role=staff["role"],
            scope_unit_id=staff["scope_unit_id"],
            device_id=claims.device_id,
            session_id=claims.session_id,
        )


def auth_service(container: Container) -> AuthService:
    """The container's shared :class:`AuthService`, built on first use."""
    service = container.services.get("auth")
    if not isinstance(service, AuthService):
        service = container.services["auth"] = AuthService(container)
    return service
