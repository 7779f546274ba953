"""Evidence bundles: one zip an auditor checks offline (format: docs/evidence.md).

Pure except for writing the file: no database, no server. The bundle holds the events exactly
as stored, the photos they reference, an RFC 9162 inclusion proof per event against one signed
checkpoint, that checkpoint and the verifier keys. The offline verifier is
:mod:`storage.bundle_verify`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any
from uuid import UUID

from storage.merkle import StoredRecord

__all__ = ["FORMAT", "BundleError", "BundleEvent", "photo_refs", "write_bundle"]

FORMAT = "gridledger-evidence-bundle/1"
MANIFEST, CHECKPOINT, KEYS, EVENTS = "manifest.json", "checkpoint.note", "keys.vkey", "events.jsonl"
PHOTO_DIR = "photos/"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PHOTO_KEYS = ("photo", "evidence")  # state fields whose 64-hex strings name stored photos


class BundleError(ValueError):
    """The bundle does not verify; the message names the first bad position or object."""


@dataclass(frozen=True)
class BundleEvent:
    record: StoredRecord
    leaf_index: int
    proof: Sequence[bytes]


# -- photo references ----------------------------------------------------------------------------


def photo_refs(state: bytes) -> tuple[str, ...]:
    """SHA-256s of photos an event's stored state names, in order, without repeats."""
    try:
        decoded = json.loads(state)
    except (ValueError, UnicodeDecodeError):
        return ()
    found: dict[str, None] = {}
    _collect(decoded, under_photo_key=False, found=found)
    return tuple(found)


def _collect(value: Any, *, under_photo_key: bool, found: dict[str, None]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            hit = under_photo_key or any(k in str(key).lower() for k in _PHOTO_KEYS)
            _collect(item, under_photo_key=hit, found=found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, under_photo_key=under_photo_key, found=found)
    elif under_photo_key and isinstance(value, str) and _SHA256.match(value):
        found[value] = None


# -- writing -------------------------------------------------------------------------------------


def _event_line(event: BundleEvent) -> bytes:
    r = event.record
    entry = {
        "leaf_index": event.leaf_index,
        "position": r.position,
        "originator_id": str(r.originator_id),
        "originator_version": r.originator_version,
        "topic": r.topic,
        "state": base64.b64encode(r.state).decode(),
        "proof": [base64.b64encode(p).decode() for p in event.proof],
    }
    return json.dumps(entry, separators=(",", ":")).encode() + b"\n"


def write_bundle(
    out: IO[bytes],
    *,
    subject: dict[str, Any],
    checkpoint_note: str,
    verifier_keys: Sequence[str],
    events: Sequence[BundleEvent],
    photos: Iterable[tuple[str, bytes | None]],
    complete_records: Sequence[UUID] = (),
) -> None:
    """Write the zip; ``photos`` yields (sha256, bytes as read, or None when it was missing)."""
    files: dict[str, str] = {}
    missing: list[str] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:

        def put(name: str, data: bytes) -> None:
            files[name] = hashlib.sha256(data).hexdigest()
            zf.writestr(name, data)

        put(CHECKPOINT, checkpoint_note.encode())
        put(KEYS, "".join(f"{k}\n" for k in verifier_keys).encode())
        put(EVENTS, b"".join(_event_line(e) for e in events))
        for sha256, data in photos:
            if data is None:
                missing.append(sha256)
            else:
                put(PHOTO_DIR + sha256, data)
        manifest = {
            "format": FORMAT,
            "subject": subject,
            "counts": {"events": len(events), "photos": len(files) - 3},
            "missing_photos": missing,
            "complete_records": [str(r) for r in complete_records],
            "files": files,
        }
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
