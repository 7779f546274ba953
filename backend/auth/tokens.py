"""Our own credentials: signed access tokens, opaque refresh tokens and binding codes.

Privacy rule 9: tokens are short-lived and bound to staff + device. Only hashes of refresh tokens
and binding codes are stored, so a database leak yields nothing a client could present.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

import msgspec

__all__ = [
    "BINDING_CODE_ALPHABET",
    "AccessClaims",
    "AccessTokenCodec",
    "TokenError",
    "check_refresh",
    "hash_binding_code",
    "hash_refresh_token",
    "new_binding_code",
    "new_refresh_token",
]

# No I/O/0/1: the code is read off one screen and typed on another.
BINDING_CODE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_BINDING_CODE_LENGTH: Final = 8
# HMAC-SHA256 keys shorter than the hash weaken it; refuse them at start-up, not in production.
_MIN_KEY_BYTES: Final = 32
_SIGNATURE_BYTES: Final = 32

_ERRMSG: Final[dict[int, str]] = {
    40101: "令牌格式错误 / malformed token",
    40102: "令牌签名无效 / invalid token signature",
    40103: "令牌已过期 / token expired",
    40104: "刷新令牌已吊销 / refresh token revoked",
    40105: "刷新令牌不属于此设备 / refresh token belongs to another device",
    40106: "刷新令牌已过期 / refresh token expired",
}


class TokenError(Exception):
    """A rejected credential; always HTTP 401 so the phone knows to log in again."""

    http_status: Final = 401

    def __init__(self, errcode: int) -> None:
        self.errcode = errcode
        self.errmsg = _ERRMSG[errcode]
        super().__init__(f"{errcode}: {self.errmsg}")


class AccessClaims(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The signed payload. Times are Unix seconds (UTC)."""

    staff_id: UUID
    device_id: str
    session_id: UUID
    issued_at: int
    expires_at: int
    key_id: str


_claims_decoder: Final = msgspec.json.Decoder(AccessClaims)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError(40101) from None
    # The decoder skips stray characters and ignores trailing bits; demanding the canonical
    # form means every accepted token has exactly one spelling, so no edit goes unnoticed.
    if _b64encode(raw) != text:
        raise TokenError(40101)
    return raw


def _epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware one (UTC)")
    return int(moment.timestamp())


class AccessTokenCodec:
    """Issues and verifies ``base64url(json claims) + "." + base64url(HMAC-SHA256)``.

    ``secret`` is one key or a ``key_id -> key`` mapping for rotation: the last (newest) entry
    signs, every entry verifies, so a retired key is dropped once its tokens have expired.
    """

    def __init__(
        self, secret: bytes | Mapping[str, bytes], *, ttl: timedelta = timedelta(minutes=15)
    ) -> None:
        keys = {"k0": secret} if isinstance(secret, bytes) else dict(secret)
        if not keys or any(len(key) < _MIN_KEY_BYTES for key in keys.values()):
            raise ValueError(f"need at least one key of >= {_MIN_KEY_BYTES} bytes")
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self._keys = keys
        self._signing_key_id = next(reversed(keys))
        self.ttl = ttl

    def issue(self, *, staff_id: UUID, device_id: str, session_id: UUID, now: datetime) -> str:
        issued_at = _epoch(now)
        claims = AccessClaims(
            staff_id=staff_id,
            device_id=device_id,
            session_id=session_id,
            issued_at=issued_at,
            expires_at=issued_at + int(self.ttl.total_seconds()),
            key_id=self._signing_key_id,
        )
        payload = _b64encode(msgspec.json.encode(claims))
        return f"{payload}.{self._sign(self._signing_key_id, payload)}"

    def verify(self, token: str, *, now: datetime) -> AccessClaims:
        """Check signature before parsing, so unauthenticated bytes never reach the decoder."""
        payload, signature = self._split(token)
        key_id = self._matching_key_id(payload, signature)
        claims = self._decode(payload)
        if claims.key_id != key_id:
            raise TokenError(40102)
        if _epoch(now) >= claims.expires_at:
            raise TokenError(40103)
        return claims

    def _sign(self, key_id: str, payload: str) -> str:
        digest = hmac.new(self._keys[key_id], payload.encode("ascii"), hashlib.sha256).digest()
        return _b64encode(digest)

    @staticmethod
    def _split(token: str) -> tuple[str, bytes]:
        parts = token.split(".")
        if len(parts) != 2 or not parts[0].isascii():
            raise TokenError(40101)
        _b64decode(parts[0])
        signature = _b64decode(parts[1])
        if len(signature) != _SIGNATURE_BYTES:
            raise TokenError(40101)
        return parts[0], signature

    def _matching_key_id(self, payload: str, signature: bytes) -> str:
        for key_id, key in self._keys.items():
            expected = hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()
            if hmac.compare_digest(expected, signature):
                return key_id
        raise TokenError(40102)

    @staticmethod
    def _decode(payload: str) -> AccessClaims:
        try:
            return _claims_decoder.decode(_b64decode(payload))
        except msgspec.DecodeError:
            # Only reachable with a validly signed but unreadable payload (e.g. an old format).
            raise TokenError(40101) from None


def hash_refresh_token(token: str) -> str:
    """SHA-256 hex. No salt needed: the token is 256 random bits, not a guessable secret."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> tuple[str, str]:
    """Return ``(token for the client, hash to store)``."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def check_refresh(
    *,
    stored_device_id: str,
    presented_device_id: str,
    revoked_at: datetime | None,
    expires_at: datetime,
    now: datetime,
) -> None:
    """Decide whether a stored refresh token may be used; raises :class:`TokenError` if not.

    Revocation is checked first: a lost phone's token must say "revoked", never "expired".
    """
    if revoked_at is not None:
        raise TokenError(40104)
    if not hmac.compare_digest(stored_device_id.encode(), presented_device_id.encode()):
        raise TokenError(40105)
    if now >= expires_at:
        raise TokenError(40106)


def hash_binding_code(code: str) -> str:
    """SHA-256 hex of the normalised code, so "abcd efgh" typed by hand matches "ABCDEFGH"."""
    normalised = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(normalised.encode()).hexdigest()


def new_binding_code() -> tuple[str, str]:
    """Return ``(code to show, hash to store)``.

    Forty bits is brute-forceable offline, so callers must keep codes short-lived, single-use
    and attempt-limited; the hash only keeps a database reader from using live codes directly.
    """
    code = "".join(secrets.choice(BINDING_CODE_ALPHABET) for _ in range(_BINDING_CODE_LENGTH))
    return code, hash_binding_code(code)
