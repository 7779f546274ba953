"""The offline verifier of evidence bundles (:mod:`storage.bundle`; docs/evidence.md).

Trusts nothing in the file but what it can recompute: leaf hashes from the records, roots from
the proofs, the checkpoint's signature from a key the auditor supplies (or, with a loud warning,
the bundled one), photos from their SHA-256. Stops at the first failure and names it. Pure
except for reading the file: no database, no server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from uuid import UUID

from storage.bundle import (
    CHECKPOINT,
    EVENTS,
    FORMAT,
    KEYS,
    MANIFEST,
    PHOTO_DIR,
    BundleError,
    BundleEvent,
    photo_refs,
)
from storage.merkle import ProofError, StoredRecord, record_leaf_hash, verify_inclusion
from storage.signed_note import (
    Checkpoint,
    NoteError,
    UnknownKeyError,
    Verifier,
    open_note,
    parse_checkpoint,
)

__all__ = ["MAX_MEMBER_BYTES", "VerifyReport", "verify_bundle"]

MAX_MEMBER_BYTES = 256 * 1024 * 1024  # refuse zip bombs: no single member is bigger than this


@dataclass
class VerifyReport:
    subject: dict[str, Any]
    tree_size: int
    root_hash: bytes
    key_ids: list[str]
    events: int
    photos: int
    trusted_keys: str
    """``given`` (keys the auditor supplied) or ``bundled`` (only the bundle's own key)."""
    warnings: list[str] = field(default_factory=list)


def verify_bundle(
    bundle: str | IO[bytes],
    *,
    checkpoint_note: str | None = None,
    keys: Sequence[str] = (),
) -> VerifyReport:
    """Check everything offline; raise :class:`BundleError` at the first failure."""
    try:
        with zipfile.ZipFile(bundle) as zf:
            return _verify_open(zf, checkpoint_note=checkpoint_note, keys=keys)
    except zipfile.BadZipFile as exc:
        raise BundleError(f"not a readable bundle (truncated or not a zip): {exc}") from None


def _verify_open(
    zf: zipfile.ZipFile, *, checkpoint_note: str | None, keys: Sequence[str]
) -> VerifyReport:
    manifest = _manifest(zf)
    contents = _checked_files(zf, manifest["files"])
    verifiers, trusted = _trusted_verifiers(keys, contents[KEYS])
    note_text = checkpoint_note if checkpoint_note is not None else contents[CHECKPOINT].decode()
    checkpoint, key_ids = _open_checkpoint(note_text, verifiers)
    events = _verify_events(contents[EVENTS], checkpoint, complete=_complete(manifest))
    photo_count = _verify_photos(events, contents, manifest.get("missing_photos", []))
    report = VerifyReport(
        subject=manifest.get("subject", {}),
        tree_size=checkpoint.size,
        root_hash=checkpoint.root_hash,
        key_ids=key_ids,
        events=len(events),
        photos=photo_count,
        trusted_keys=trusted,
    )
    if trusted == "bundled":
        report.warnings.append(
            "WARNING: the checkpoint was verified only against the key INSIDE the bundle; anyone "
            "can make a bundle with their own key. Pass --key with the log's published verifier "
            "key (or --checkpoint with a checkpoint you kept) to trust the result."
        )
    return report


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > MAX_MEMBER_BYTES:
        raise BundleError(f"{name}: {info.file_size} bytes is more than a bundle member may be")
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BundleError(f"{name}: unreadable (truncated or corrupt): {exc}") from None


def _manifest(zf: zipfile.ZipFile) -> dict[str, Any]:
    if MANIFEST not in zf.namelist():
        raise BundleError(f"no {MANIFEST}: not an evidence bundle, or truncated")
    try:
        manifest = json.loads(_read(zf, MANIFEST))
    except ValueError:
        raise BundleError(f"{MANIFEST} is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{MANIFEST}: unknown format (expected {FORMAT})")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise BundleError(f"{MANIFEST}: no file list")
    return manifest


def _checked_files(zf: zipfile.ZipFile, files: dict[str, str]) -> dict[str, bytes]:
    present = set(zf.namelist()) - {MANIFEST}
    for name in sorted(set(files) - present):
        raise BundleError(f"{name}: listed in the manifest but missing (truncated bundle?)")
    for name in sorted(present - set(files)):
        raise BundleError(f"{name}: in the bundle but not in the manifest")
    for required in (CHECKPOINT, KEYS, EVENTS):
        if required not in files:
            raise BundleError(f"{required}: missing from the bundle")
    contents = {}
    for name, expected in files.items():
        data = _read(zf, name)
        if hashlib.sha256(data).hexdigest() != expected:
            raise BundleError(f"{name}: content does not match the manifest's SHA-256")
        contents[name] = data
    return contents


def _trusted_verifiers(keys: Sequence[str], bundled: bytes) -> tuple[list[Verifier], str]:
    given = [k for k in keys if k.strip()]
    source = given or [line for line in bundled.decode(errors="replace").splitlines() if line]
    try:
        verifiers = [Verifier.from_vkey(k) for k in source]
    except NoteError as exc:
        where = "given" if given else f"bundled ({KEYS})"
        raise BundleError(f"{where} verifier key: {exc}") from None
    return verifiers, "given" if given else "bundled"


def _open_checkpoint(note_text: str, verifiers: list[Verifier]) -> tuple[Checkpoint, list[str]]:
    try:
        note = open_note(note_text, verifiers)
        checkpoint = parse_checkpoint(note.text)
    except UnknownKeyError as exc:
        raise BundleError(f"checkpoint: signed by an unknown key — {exc}") from None
    except NoteError as exc:
        raise BundleError(f"checkpoint: {exc}") from None
    return checkpoint, [f"{v.name}+{v.key_id:08x}" for v in note.verified_by]


def _parse_event(line: bytes, number: int) -> BundleEvent:
    try:
        raw = json.loads(line)
        record = StoredRecord(
            originator_id=UUID(raw["originator_id"]),
            originator_version=int(raw["originator_version"]),
            topic=str(raw["topic"]),
            state=base64.b64decode(raw["state"], validate=True),
            position=int(raw["position"]),
        )
        proof = [base64.b64decode(p, validate=True) for p in raw["proof"]]
        return BundleEvent(record=record, leaf_index=int(raw["leaf_index"]), proof=proof)
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{EVENTS} line {number}: malformed event entry ({exc})") from None


def _complete(manifest: dict[str, Any]) -> set[UUID]:
    try:
        return {UUID(str(v)) for v in manifest.get("complete_records", [])}
    except (ValueError, TypeError):
        raise BundleError(f"{MANIFEST}: complete_records is not a list of ids") from None


def _verify_events(
    data: bytes, checkpoint: Checkpoint, *, complete: set[UUID]
) -> list[BundleEvent]:
    events = [_parse_event(line, n) for n, line in enumerate(data.splitlines(), 1) if line]
    if not events:
        raise BundleError(f"{EVENTS}: the bundle holds no events")
    previous: BundleEvent | None = None
    for event in events:
        _check_order(previous, event)
        _check_inclusion(event, checkpoint)
        previous = event
    _check_versions([e for e in events if e.record.originator_id in complete])
    return events


def _check_order(previous: BundleEvent | None, event: BundleEvent) -> None:
    if previous is None:
        return
    if event.leaf_index <= previous.leaf_index or event.record.position <= previous.record.position:
        raise BundleError(
            f"event at position {event.record.position}: out of log order "
            f"(follows position {previous.record.position})"
        )


def _check_inclusion(event: BundleEvent, checkpoint: Checkpoint) -> None:
    where = f"event at position {event.record.position} (leaf {event.leaf_index})"
    if event.leaf_index >= checkpoint.size:
        raise BundleError(f"{where}: not covered by the checkpoint of tree size {checkpoint.size}")
    try:
        leaf = record_leaf_hash(event.record)
        verify_inclusion(leaf, event.leaf_index, checkpoint.size, event.proof, checkpoint.root_hash)
    except ProofError as exc:
        raise BundleError(
            f"{where}: inclusion proof fails against the checkpoint of tree size "
            f"{checkpoint.size}: {exc} (the stored record or the proof was altered, or the "
            "proof is for another tree size)"
        ) from None


def _check_versions(events: Sequence[BundleEvent]) -> None:
    """A record bundled whole (the case, the household) has versions 1, 2, … with no gap: an
    event deleted from the log shows here (a deleted *last* event cannot; see evidence.md)."""
    last: dict[UUID, int] = {}
    for event in events:
        r = event.record
        expected = last.get(r.originator_id, 0) + 1
        if r.originator_version != expected:
            raise BundleError(
                f"event at position {r.position}: {r.originator_id} version "
                f"{r.originator_version} where version {expected} was expected — an event of "
                "this record is missing from the log"
            )
        last[r.originator_id] = expected


def _verify_photos(
    events: Sequence[BundleEvent], contents: dict[str, bytes], missing: Sequence[str]
) -> int:
    referenced: dict[str, int] = {}
    for event in events:
        for sha256 in photo_refs(event.record.state):
            referenced.setdefault(sha256, event.record.position)
    for sha256, position in referenced.items():
        data = contents.get(PHOTO_DIR + sha256)
        if data is None:
            state = "was missing from the store at export" if sha256 in missing else "is absent"
            raise BundleError(f"photo {sha256} (referenced at position {position}) {state}")
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise BundleError(
                f"photo {sha256} (referenced at position {position}): its bytes hash to "
                f"{actual} — the stored photo was replaced"
            )
    extra = {n[len(PHOTO_DIR) :] for n in contents if n.startswith(PHOTO_DIR)} - set(referenced)
    for sha256 in sorted(extra):
        raise BundleError(f"photo {sha256}: in the bundle but referenced by no bundled event")
    return len(referenced)
