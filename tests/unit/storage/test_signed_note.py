"""C2SP signed notes and checkpoints: the golang.org/x/mod/sumdb/note known-answer vector,
independent verification through the cryptography primitives, and hostile input."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from storage.signed_note import (
    Checkpoint,
    KeyRing,
    NoteError,
    Signer,
    UnknownKeyError,
    Verifier,
    format_checkpoint,
    open_note,
    parse_checkpoint,
    parse_note,
    sign_note,
)

# The sumdb/note package's documented example key pair and signed note (data only).
SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
SIGNED = (
    TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZ"
    "SNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_given_the_published_key_then_signing_reproduces_the_published_note() -> None:
    signer = Signer.from_skey(SKEY)
    assert signer.verifier.vkey == VKEY
    assert sign_note(TEXT, [signer]) == SIGNED
    assert Signer.from_skey(signer.skey).skey == SKEY


def test_given_the_published_note_then_it_opens_with_the_published_vkey() -> None:
    note = open_note(SIGNED, [Verifier.from_vkey(VKEY)])
    assert note.text == TEXT
    assert [v.vkey for v in note.verified_by] == [VKEY]


def test_key_id_and_signature_check_out_with_the_raw_primitives() -> None:
    signer = Signer.generate("gridledger.example/log")
    signed = sign_note("hello\n", [signer])
    blob = base64.b64decode(signed.split(" ")[-1])
    pub = signer.public_key
    expected_id = hashlib.sha256(b"gridledger.example/log\n\x01" + pub).digest()[:4]
    assert blob[:4] == expected_id
    Ed25519PublicKey.from_public_bytes(pub).verify(blob[4:], b"hello\n")  # raises if wrong


def test_when_one_byte_of_the_text_changes_then_verification_fails() -> None:
    tampered = SIGNED.replace("cryptography", "cryptographY")
    with pytest.raises(NoteError, match="does not verify"):
        open_note(tampered, [Verifier.from_vkey(VKEY)])


def test_when_signed_by_an_unknown_key_then_it_is_refused_naming_the_signer() -> None:
    stranger = Signer.generate("PeterNeumann")
    with pytest.raises(UnknownKeyError, match=r"not signed by any known key.*PeterNeumann"):
        open_note(sign_note(TEXT, [stranger]), [Verifier.from_vkey(VKEY)])


@pytest.mark.parametrize(
    "message",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n- PeterNeumann abc=\n",
        TEXT + "\n\u2014 PeterNeumann !!!\n",
        TEXT + "\n\u2014 PeterNeumann AAA=\n",
        "no newline\n\n\u2014 a AAAAAAAAAA==",
        "bad\x07control\n\n\u2014 a AAAAAAAAAA==\n",
    ],
)
def test_malformed_notes_are_refused(message: str) -> None:
    with pytest.raises(NoteError):
        parse_note(message)


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_bad_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        Verifier.from_vkey(vkey)


def test_checkpoint_body_round_trips_and_rejects_bad_sizes() -> None:
    cp = Checkpoint("gridledger.example/log", 42, bytes(range(32)), ("ext line",))
    text = format_checkpoint(cp)
    assert text.splitlines()[:2] == ["gridledger.example/log", "42"]
    assert parse_checkpoint(text) == cp
    for bad in ("o\n-1\nAAAA\n", "o\n012\n" + base64.b64encode(bytes(32)).decode() + "\n"):
        with pytest.raises(NoteError):
            parse_checkpoint(bad)
    with pytest.raises(NoteError, match="32 bytes"):
        parse_checkpoint("o\n1\nAAAA\n")


def test_given_a_rotated_key_ring_then_old_checkpoints_still_verify() -> None:
    old, new = Signer.generate("log"), Signer.generate("log")
    old_note = KeyRing([old]).sign_checkpoint(Checkpoint("log", 1, bytes(32)))
    ring = KeyRing([new], retired=[old.verifier])
    assert ring.active is new
    cp, note = ring.open_checkpoint(old_note)
    assert cp.size == 1
    assert note.verified_by == (old.verifier,)
    fresh = ring.sign_checkpoint(Checkpoint("log", 2, bytes(32)))
    assert ring.open_checkpoint(fresh)[1].verified_by == (new.verifier,)
    with pytest.raises(UnknownKeyError):
        KeyRing([new]).open_checkpoint(old_note)
