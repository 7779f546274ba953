"""C2SP signed notes (https://c2sp.org/signed-note) and tlog checkpoints — pure, no I/O.

A signed note is UTF-8 text ending in a newline, a blank line, then one line per signature:
``— <name> <base64(key id || signature)>``. Ed25519 keys (algorithm byte 0x01) only; the key
id is the first 4 bytes of ``SHA-256(name || 0x0A || 0x01 || public key)`` read big-endian.
Verifier keys travel as ``<name>+<key id hex>+<base64(0x01 || public key)>`` (a "vkey"),
signer keys as ``PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>`` (an "skey").

A checkpoint (https://c2sp.org/tlog-checkpoint) is a note whose text is the log's origin, the
tree size in decimal and the base64 root hash, one per line, then optional extension lines.

:class:`KeyRing` holds several keys with one active: checkpoints are signed by the active key,
and notes signed by any retired key still verify (rotation never orphans an old checkpoint).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "ALG_ED25519",
    "Checkpoint",
    "KeyRing",
    "Note",
    "NoteError",
    "NoteSignature",
    "Signer",
    "UnknownKeyError",
    "Verifier",
    "format_checkpoint",
    "key_id",
    "open_note",
    "parse_checkpoint",
    "parse_note",
    "sign_note",
]

ALG_ED25519 = 0x01
_SIG_PREFIX = "\u2014 "  # an em dash and a space start every signature line
_MAX_SIGNATURES = 100  # as the reference implementation: bounds work on a hostile note


class NoteError(ValueError):
    """The note, key or checkpoint is malformed or a signature does not verify."""


class UnknownKeyError(NoteError):
    """No signature on the note is by a key we know."""


def key_id(name: str, public_key: bytes) -> int:
    """The signed-note key id of an Ed25519 key: 4 bytes of SHA-256 over name, LF, alg, key."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()
    return int(struct.unpack(">I", digest[:4])[0])


def _check_name(name: str) -> str:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def _b64decode(text: str, *, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(f"{what} is not valid base64") from None


@dataclass(frozen=True)
class Verifier:
    """A known public key: checks signatures by ``name`` with ``key_id``."""

    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)  # base64 may itself contain "+"
        if len(parts) != 3:
            raise NoteError("a verifier key reads name+keyid+base64key")
        name, hex_id, encoded = _check_name(parts[0]), parts[1], parts[2]
        raw = _b64decode(encoded, what="verifier key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 key")
        if len(hex_id) != 8 or f"{key_id(name, raw[1:]):08x}" != hex_id.lower():
            raise NoteError(f"verifier key id {hex_id} does not match the key")
        return cls(name, key_id(name, raw[1:]), raw[1:])

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A private key with its name; signs notes."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(_check_name(name), Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signer key reads PRIVATE+KEY+name+keyid+base64seed")
        raw = _b64decode(parts[4], what="signer key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("signer key is not an Ed25519 key")
        signer = cls(_check_name(parts[2]), Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if parts[3].lower() != f"{signer.key_id:08x}":
            raise NoteError(f"signer key id {parts[3]} does not match the key")
        return signer

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.public_key)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key_id, self.public_key)

    @property
    def skey(self) -> str:
        seed = self.private_key.private_bytes_raw()
        encoded = base64.b64encode(bytes([ALG_ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{encoded}"

    def sign(self, text: bytes) -> bytes:
        return self.private_key.sign(text)


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: int
    signature: bytes


@dataclass(frozen=True)
class Note:
    """A parsed note: its text (ending in a newline) and its signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]
    verified_by: tuple[Verifier, ...] = ()


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text must not contain control characters")


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """The signed note: ``text``, a blank line and one signature line per signer."""
    _check_text(text)
    lines = []
    for signer in signers:
        blob = struct.pack(">I", signer.key_id) + signer.sign(text.encode())
        lines.append(f"{_SIG_PREFIX}{signer.name} {base64.b64encode(blob).decode()}\n")
    return text + "\n" + "".join(lines)


def parse_note(message: str) -> Note:
    """Split a signed note into text and signatures, without verifying anything."""
    text, sep, block = message.rpartition("\n\n")
    if not sep or not block.endswith("\n"):
        raise NoteError("not a signed note: no blank line before signatures ending in a newline")
    text += "\n"
    _check_text(text)
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise NoteError(f"a note carries at most {_MAX_SIGNATURES} signatures")
    return Note(text, tuple(_parse_signature(line) for line in lines))


def _parse_signature(line: str) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise NoteError("signature lines start with an em dash and a space")
    name, _, encoded = line[len(_SIG_PREFIX) :].partition(" ")
    raw = _b64decode(encoded, what="signature")
    if len(raw) < 5:
        raise NoteError("signature is too short")
    return NoteSignature(_check_name(name), int(struct.unpack(">I", raw[:4])[0]), raw[4:])


def open_note(message: str, verifiers: Iterable[Verifier]) -> Note:
    """Parse and verify: every signature by a known key must verify and at least one must be
    by a known key (signatures by unknown keys are ignored, as the spec says)."""
    note = parse_note(message)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if not verifier.verify(note.text.encode(), sig.signature):
            raise NoteError(f"signature by {sig.name} ({sig.key_id:08x}) does not verify")
        verified.append(verifier)
    if not verified:
        ids = ", ".join(f"{s.name}+{s.key_id:08x}" for s in note.signatures)
        raise UnknownKeyError(f"the note is not signed by any known key (signed by: {ids})")
    return Note(note.text, note.signatures, tuple(verified))


@dataclass(frozen=True)
class Checkpoint:
    """A tlog checkpoint body: origin, tree size, root hash and extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


def format_checkpoint(checkpoint: Checkpoint) -> str:
    root = base64.b64encode(checkpoint.root_hash).decode()
    lines = [checkpoint.origin, str(checkpoint.size), root, *checkpoint.extensions]
    text = "".join(f"{line}\n" for line in lines)
    _check_text(text)
    return text


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body (a note's text, not the whole signed note)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or not lines[0]:
        raise NoteError("a checkpoint reads origin, size and root hash, one per line")
    size_text = lines[1]
    if not size_text.isdigit() or (size_text.startswith("0") and size_text != "0"):
        raise NoteError(f"checkpoint tree size {size_text!r} is not a decimal number")
    root = _b64decode(lines[2], what="checkpoint root hash")
    if len(root) != 32:
        raise NoteError("checkpoint root hash is not 32 bytes")
    if any(not line for line in lines[3:-1]):
        raise NoteError("checkpoint extension lines must not be empty")
    return Checkpoint(lines[0], int(size_text), root, tuple(lines[3:-1]))


class KeyRing:
    """Several signing keys, one active; the verifiers of all of them (rotation keeps old
    checkpoints verifiable). Extra verifier-only keys (retired, private part destroyed) too."""

    def __init__(
        self, signers: Sequence[Signer], *, active: int = 0, retired: Sequence[Verifier] = ()
    ) -> None:
        if not signers:
            raise NoteError("a key ring needs at least one signing key")
        self.signers = tuple(signers)
        self.active = self.signers[active]
        self.retired = tuple(retired)

    @property
    def verifiers(self) -> tuple[Verifier, ...]:
        seen: dict[tuple[str, int], Verifier] = {}
        for v in (*(s.verifier for s in self.signers), *self.retired):
            seen.setdefault((v.name, v.key_id), v)
        return tuple(seen.values())

    def sign_checkpoint(self, checkpoint: Checkpoint) -> str:
        return sign_note(format_checkpoint(checkpoint), [self.active])

    def open_checkpoint(self, message: str) -> tuple[Checkpoint, Note]:
        note = open_note(message, self.verifiers)
        return parse_checkpoint(note.text), note
