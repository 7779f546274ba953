"""Access tokens, refresh tokens and binding codes."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from backend.auth import (
    BINDING_CODE_ALPHABET,
    AccessClaims,
    AccessTokenCodec,
    TokenError,
    check_refresh,
    hash_binding_code,
    hash_refresh_token,
    new_binding_code,
    new_refresh_token,
)

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
KEY_A = b"a" * 32
KEY_B = b"b" * 32


def _issue(codec: AccessTokenCodec, now: datetime = NOW) -> str:
    return codec.issue(staff_id=uuid4(), device_id="phone-1", session_id=uuid4(), now=now)


def _errcode(codec: AccessTokenCodec, token: str, now: datetime = NOW) -> int:
    with pytest.raises(TokenError) as caught:
        codec.verify(token, now=now)
    return caught.value.errcode


def _flip(text: str, index: int) -> str:
    replacement = "B" if text[index] == "A" else "A"
    return text[:index] + replacement + text[index + 1 :]


def test_round_trip_returns_the_claims() -> None:
    codec = AccessTokenCodec(KEY_A)
    staff_id, session_id = uuid4(), uuid4()
    token = codec.issue(staff_id=staff_id, device_id="phone-1", session_id=session_id, now=NOW)

    claims = codec.verify(token, now=NOW)

    assert claims == AccessClaims(
        staff_id=staff_id,
        device_id="phone-1",
        session_id=session_id,
        issued_at=int(NOW.timestamp()),
        expires_at=int(NOW.timestamp()) + 15 * 60,
        key_id="k0",
    )
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}", token)


@pytest.mark.parametrize("index", [0, 10, -1])
def test_tampered_payload_fails_the_signature(index: int) -> None:
    codec = AccessTokenCodec(KEY_A)
    payload, signature = _issue(codec).split(".")
    assert _errcode(codec, f"{_flip(payload, index)}.{signature}") in {40101, 40102}


def test_rewritten_claims_fail_the_signature() -> None:
    codec = AccessTokenCodec(KEY_A)
    payload, signature = _issue(codec).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["device_id"] = "phone-2"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert _errcode(codec, f"{forged}.{signature}") == 40102


@pytest.mark.parametrize("index", [0, 20, -1])
def test_tampered_signature_is_rejected(index: int) -> None:
    codec = AccessTokenCodec(KEY_A)
    payload, signature = _issue(codec).split(".")
    # The last character carries padding bits: only canonical base64 keeps it from slipping by.
    assert _errcode(codec, f"{payload}.{_flip(signature, index)}") in {40101, 40102}


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b.c", "!!!.???", "eyJ9.", ".c2ln", "é.é", "abc.abcd"]
)
def test_malformed_tokens(token: str) -> None:
    assert _errcode(AccessTokenCodec(KEY_A), token) == 40101


def test_token_signed_with_another_key_is_rejected() -> None:
    token = _issue(AccessTokenCodec(KEY_B))
    assert _errcode(AccessTokenCodec(KEY_A), token) == 40102


def test_expiry_boundary() -> None:
    codec = AccessTokenCodec(KEY_A, ttl=timedelta(minutes=15))
    token = _issue(codec)
    codec.verify(token, now=NOW + timedelta(minutes=15) - timedelta(seconds=1))
    assert _errcode(codec, token, NOW + timedelta(minutes=15)) == 40103


def test_rotation_newest_key_signs_and_all_verify() -> None:
    old_codec = AccessTokenCodec({"2024": KEY_A})
    old_token = _issue(old_codec)
    rotated = AccessTokenCodec({"2024": KEY_A, "2025": KEY_B})

    new_token = _issue(rotated)

    assert rotated.verify(old_token, now=NOW).key_id == "2024"
    assert rotated.verify(new_token, now=NOW).key_id == "2025"
    assert _errcode(old_codec, new_token) == 40102


def test_retired_key_no_longer_verifies() -> None:
    token = _issue(AccessTokenCodec({"2024": KEY_A}))
    assert _errcode(AccessTokenCodec({"2025": KEY_B}), token) == 40102


def test_key_id_claim_must_match_the_verifying_key() -> None:
    # Both keys equal: the signature matches "a" first, but the claims name "b".
    token = _issue(AccessTokenCodec({"b": KEY_A}))
    assert _errcode(AccessTokenCodec({"a": KEY_A, "b": KEY_A}), token) == 40102


@pytest.mark.parametrize("secret", [b"", b"short", {}, {"k": b"x" * 31}])
def test_weak_keys_are_refused(secret: bytes | dict[str, bytes]) -> None:
    with pytest.raises(ValueError, match="at least one key"):
        AccessTokenCodec(secret)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        _issue(AccessTokenCodec(KEY_A), NOW.replace(tzinfo=None))


def test_refresh_token_is_random_and_stored_as_its_hash() -> None:
    token, stored = new_refresh_token()
    other, _ = new_refresh_token()
    assert token != other
    assert len(token) >= 43
    assert stored == hash_refresh_token(token)
    assert re.fullmatch(r"[0-9a-f]{64}", stored)


def _check(**overrides: object) -> None:
    arguments: dict[str, object] = {
        "stored_device_id": "phone-1",
        "presented_device_id": "phone-1",
        "revoked_at": None,
        "expires_at": NOW + timedelta(days=30),
        "now": NOW,
    }
    check_refresh(**(arguments | overrides))  # type: ignore[arg-type]


def test_refresh_check_accepts_a_live_token_on_its_device() -> None:
    _check()


@pytest.mark.parametrize(
    ("overrides", "errcode"),
    [
        ({"revoked_at": NOW - timedelta(hours=1)}, 40104),
        ({"presented_device_id": "phone-2"}, 40105),
        ({"expires_at": NOW}, 40106),
        # A lost phone's token says "revoked" even after it has also expired.
        ({"revoked_at": NOW, "expires_at": NOW - timedelta(days=1)}, 40104),
    ],
)
def test_refresh_check_rejections(overrides: dict[str, object], errcode: int) -> None:
    with pytest.raises(TokenError) as caught:
        _check(**overrides)
    assert caught.value.errcode == errcode
    assert caught.value.http_status == 401


def test_binding_code_shape_and_hash() -> None:
    code, stored = new_binding_code()
    assert len(code) == 8
    assert set(code) <= set(BINDING_CODE_ALPHABET)
    assert not set("IO01") & set(BINDING_CODE_ALPHABET)
    assert stored == hash_binding_code(code)
    assert hash_binding_code(f" {code[:4].lower()}-{code[4:]} ") == stored
