"""Refresh-token rotation with reuse detection (privacy rule 9).

Every refresh *spends* the presented token and hands out its successor. A spent token is
remembered (its hash, when it was spent, a random nonce) for as long as a session can live, so
presenting it again is recognised instead of answered with a bare "unknown token":

* within ``grace`` of being spent, while its successor is still the session's current token,
  it is a phone that lost the response (or a retried, duplicated request). It gets the *same*
  successor again and a fresh access token: idempotent, nothing rotates. The successor is never
  stored; it is ``HMAC(key, nonce + spent token)``, so only whoever holds the spent token can
  recompute it, and a database reader learns nothing they could present.
* otherwise someone presents a token that was already used to go on: two parties hold the same
  chain, and the server cannot tell which one is the phone. The whole session is revoked (every
  refresh and access token of it stops working), a warning is logged, and the caller gets
  40192: log in again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID

import asyncpg

from backend.auth import TokenError, check_refresh, hash_refresh_token
from backend.errors import ApiError
from projections.staff_roster import get_staff

__all__ = ["RefreshRotation", "Rotated", "relieved", "revoke_sessions", "revoked"]

_log = logging.getLogger(__name__)

_SUCCESSOR_KEY_LABEL: Final = b"gridledger:refresh-successor:v1"
_NONCE_BYTES: Final = 16
_SESSION: Final = (
    "SELECT session_id, staff_id, device_id, refresh_hash, expires_at, revoked_at "
    "FROM device_sessions "
)


def relieved() -> ApiError:
    return ApiError(40107, "人员已离任或不存在 / staff member relieved or unknown")


def revoked() -> ApiError:
    return ApiError(40104, "会话已失效，请重新登录 / session revoked, log in again")


def reused() -> ApiError:
    return ApiError(
        40192,
        "刷新令牌已被使用过，会话已吊销，请重新登录 / refresh token already used (outside the "
        "retry grace window): the session is revoked, log in again",
    )


@dataclass(frozen=True, kw_only=True)
class Rotated:
    """What a successful refresh hands back to :class:`~backend.services.auth.AuthService`."""

    staff: asyncpg.Record
    session_id: UUID
    device_id: str
    refresh_token: str


class RefreshRotation:
    """Spends refresh tokens inside the caller's transaction.

    ``rotate`` *returns* refusals that revoked something instead of raising them, so the
    caller can commit the revocation first and raise after.
    """

    def __init__(self, *, token_secret: bytes, grace: timedelta, session_ttl: timedelta) -> None:
        self._key = hmac.new(token_secret, _SUCCESSOR_KEY_LABEL, hashlib.sha256).digest()
        self._grace = grace
        self._ttl = session_ttl

    async def rotate(
        self, conn: asyncpg.Connection, token: str, device_id: str, now: datetime
    ) -> Rotated | ApiError:
        presented = hash_refresh_token(token)
        # FOR UPDATE: a concurrent refresh with the same token waits, then finds no row here
        # and takes the spent-token path below, where it gets the same successor.
        session = await conn.fetchrow(_SESSION + "WHERE refresh_hash = $1 FOR UPDATE", presented)
        if session is not None:
            return await self._spend(conn, session, token, device_id, now)
        spent = await conn.fetchrow(
            "SELECT session_id, spent_at, successor_nonce FROM spent_refresh_tokens "
            "WHERE refresh_hash = $1",
            presented,
        )
        if spent is None:  # never issued, or spent so long ago it was forgotten
            return revoked()
        return await self._presented_again(conn, spent, token, device_id, now)

    async def _spend(
        self,
        conn: asyncpg.Connection,
        session: asyncpg.Record,
        token: str,
        device_id: str,
        now: datetime,
    ) -> Rotated | ApiError:
        if (refusal := _refusal(session, device_id, now)) is not None:
            return refusal
        staff = await _active_staff(conn, session, now)
        if staff is None:
            return relieved()
        nonce = secrets.token_bytes(_NONCE_BYTES)
        successor = self._successor(token, nonce)
        await conn.execute(
            "INSERT INTO spent_refresh_tokens (refresh_hash, session_id, successor_nonce, "
            "spent_at) VALUES ($1, $2, $3, $4)",
            session["refresh_hash"],
            session["session_id"],
            nonce,
            now,
        )
        await conn.execute(
            "UPDATE device_sessions SET refresh_hash = $2, expires_at = $3 WHERE session_id = $1",
            session["session_id"],
            hash_refresh_token(successor),
            now + self._ttl,
        )
        await _forget_old_spent_tokens(conn, session["session_id"], before=now - self._ttl)
        return _rotated(staff, session, successor)

    async def _presented_again(
        self,
        conn: asyncpg.Connection,
        spent: asyncpg.Record,
        token: str,
        device_id: str,
        now: datetime,
    ) -> Rotated | ApiError:
        session = await conn.fetchrow(
            _SESSION + "WHERE session_id = $1 FOR UPDATE", spent["session_id"]
        )
        if session is None:
            return revoked()
        if (refusal := _refusal(session, device_id, now)) is not None:
            return refusal
        successor = self._successor(token, spent["successor_nonce"])
        lost_response = (
            hmac.compare_digest(session["refresh_hash"], hash_refresh_token(successor))
            and now - spent["spent_at"] <= self._grace
        )
        if not lost_response:
            return await _revoke_reused(conn, session, spent["spent_at"], now)
        staff = await _active_staff(conn, session, now)
        return relieved() if staff is None else _rotated(staff, session, successor)

    def _successor(self, token: str, nonce: bytes) -> str:
        digest = hmac.new(self._key, nonce + token.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _refusal(session: asyncpg.Record, device_id: str, now: datetime) -> ApiError | None:
    try:
        check_refresh(
            stored_device_id=session["device_id"],
            presented_device_id=device_id,
            revoked_at=session["revoked_at"],
            expires_at=session["expires_at"],
            now=now,
        )
    except TokenError as error:
        return ApiError(error.errcode, error.errmsg)
    return None


async def _active_staff(
    conn: asyncpg.Connection, session: asyncpg.Record, now: datetime
) -> asyncpg.Record | None:
    """The roster row, or None after revoking the session of a relieved member."""
    staff = await get_staff(conn, session["staff_id"])
    if staff is not None and staff["status"] == "active":
        return staff
    await revoke_sessions(
        conn, "session_id = $1", session["session_id"], reason="relieved", now=now
    )
    return None


async def _revoke_reused(
    conn: asyncpg.Connection, session: asyncpg.Record, spent_at: datetime, now: datetime
) -> ApiError:
    await revoke_sessions(
        conn, "session_id = $1", session["session_id"], reason="refresh token reuse", now=now
    )
    # Logged without any token: the session id is enough to find the device and the member.
    _log.warning(
        "refresh token reuse: session %s of staff %s on device %r revoked "
        "(token spent %.0f s earlier)",
        session["session_id"],
        session["staff_id"],
        session["device_id"],
        (now - spent_at).total_seconds(),
    )
    return reused()


async def _forget_old_spent_tokens(
    conn: asyncpg.Connection, session_id: UUID, *, before: datetime
) -> None:
    # A token spent longer ago than a session can idle is refused as unknown (40104) anyway;
    # keeping it would only grow the table by one row per refresh forever.
    await conn.execute(
        "DELETE FROM spent_refresh_tokens WHERE session_id = $1 AND spent_at < $2",
        session_id,
        before,
    )


def _rotated(staff: asyncpg.Record, session: asyncpg.Record, successor: str) -> Rotated:
    return Rotated(
        staff=staff,
        session_id=session["session_id"],
        device_id=session["device_id"],
        refresh_token=successor,
    )


async def revoke_sessions(
    conn: asyncpg.Pool | asyncpg.Connection, where: str, *args: Any, reason: str, now: datetime
) -> int:
    """Revoke the live sessions matching ``where`` (``$1``… bound to ``args``); how many."""
    n = len(args)
    status = await conn.execute(
        f"UPDATE device_sessions SET revoked_at = ${n + 1}, revoked_reason = ${n + 2} "
        f"WHERE {where} AND revoked_at IS NULL",
        *args,
        now,
        reason,
    )
    return int(status.split()[-1])
