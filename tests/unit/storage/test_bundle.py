"""Evidence bundles verify offline, and every kind of forgery is rejected with a clear message.

Bundles are built here from an in-memory RFC 9162 tree and a freshly generated signing key, so
the verifier is tested against bundles made independently of the server's exporter.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from storage.bundle import BundleError, BundleEvent, photo_refs, write_bundle
from storage.bundle_verify import verify_bundle
from storage.merkle import MemoryTree, StoredRecord, record_leaf_hash
from storage.signed_note import Checkpoint, KeyRing, Signer

PHOTO = b"\xff\xd8\xff\xe0 a photo taken at the door"
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()
CASE = uuid.UUID("11111111-2222-3333-4444-555555555555")


@dataclass
class Log:
    records: list[StoredRecord]
    tree: MemoryTree
    ring: KeyRing

    def note(self, size: int) -> str:
        return self.ring.sign_checkpoint(Checkpoint("gridledger.test", size, self.tree.root(size)))

    def vkey(self) -> str:
        return self.ring.active.verifier.vkey


def _state(version: int) -> bytes:
    photos = [PHOTO_SHA] if version == 1 else []
    return json.dumps(
        {"timestamp": "2026-01-02T03:04:05Z", "photos": photos, "n": version}
    ).encode()


@pytest.fixture
def log() -> Log:
    """A log of 9 events: the case's versions 1–3 at positions 2, 5, 8, others between."""
    records = []
    for position in range(1, 10):
        if position in (2, 5, 8):
            version = (2, 5, 8).index(position) + 1
            records.append(
                StoredRecord(CASE, version, "events.case:Case.Event", _state(version), position)
            )
        else:
            records.append(StoredRecord(uuid.uuid4(), 1, "events.other:X", b"{}", position))
    tree = MemoryTree(record_leaf_hash(r) for r in records)
    return Log(records, tree, KeyRing([Signer.generate("gridledger.test")]))


def build(
    log: Log,
    *,
    size: int = 9,
    edit: Callable[[list[BundleEvent]], list[BundleEvent]] = lambda e: e,
    photo: bytes | None = PHOTO,
) -> bytes:
    events = [
        BundleEvent(record=r, leaf_index=i, proof=log.tree.inclusion_proof(i, size))
        for i, r in enumerate(log.records[:size])
        if r.originator_id == CASE
    ]
    out = io.BytesIO()
    write_bundle(
        out,
        subject={"kind": "case", "id": str(CASE)},
        checkpoint_note=log.note(size),
        verifier_keys=[log.vkey()],
        events=edit(events),
        photos=[(PHOTO_SHA, photo)],
        complete_records=[CASE],
    )
    return out.getvalue()


def verify(data: bytes, **kwargs: object) -> object:
    return verify_bundle(io.BytesIO(data), **kwargs)  # type: ignore[arg-type]


def rewrite_member(data: bytes, name: str, new: bytes, *, fix_manifest: bool) -> bytes:
    """Replace one member; with ``fix_manifest`` the forger also updates its hash."""
    src = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(src.read("manifest.json"))
    if fix_manifest:
        manifest["files"][name] = hashlib.sha256(new).hexdigest()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == name:
                body = new
            if info.filename == "manifest.json":
                body = json.dumps(manifest).encode()
            dst.writestr(info.filename, body)
    return out.getvalue()


def test_a_genuine_bundle_verifies_with_the_published_key(log: Log) -> None:
    # Given a bundle of a case's three events and its photo
    data = build(log)
    # When the auditor verifies it with the log's published key
    report = verify_bundle(io.BytesIO(data), keys=[log.vkey()])
    # Then everything checks out, and it says what it checked
    assert (report.events, report.photos, report.tree_size) == (3, 1, 9)
    assert report.root_hash == log.tree.root(9)
    assert report.key_ids == [f"gridledger.test+{log.ring.active.key_id:08x}"]
    assert report.trusted_keys == "given"
    assert report.warnings == []


def test_trusting_only_the_bundled_key_warns_loudly(log: Log) -> None:
    report = verify_bundle(io.BytesIO(build(log)))
    assert report.trusted_keys == "bundled"
    assert "WARNING" in report.warnings[0]
    assert "--key" in report.warnings[0]


def test_a_checkpoint_signed_by_an_unknown_key_is_rejected(log: Log) -> None:
    # Given a key the auditor trusts that did not sign this bundle's checkpoint
    other = Signer.generate("gridledger.test").verifier.vkey
    # Then verification refuses the checkpoint
    with pytest.raises(BundleError, match="checkpoint: signed by an unknown key"):
        verify(build(log), keys=[other])


def test_a_forged_payload_fails_at_its_position(log: Log) -> None:
    # Given a forger who edits one byte of the second case event and fixes the manifest
    def forge(events: list[BundleEvent]) -> list[BundleEvent]:
        r = events[1].record
        events[1] = replace(
            events[1], record=replace(r, state=r.state.replace(b'"n": 2', b'"n": 3'))
        )
        return events

    # Then the inclusion proof fails, naming the position
    with pytest.raises(BundleError, match=r"event at position 5 \(leaf 4\): inclusion proof fails"):
        verify(build(log, edit=forge), keys=[log.vkey()])


def test_an_edited_member_without_a_fixed_manifest_is_named(log: Log) -> None:
    data = rewrite_member(build(log), "events.jsonl", b"{}\n", fix_manifest=False)
    with pytest.raises(BundleError, match=r"events.jsonl: content does not match"):
        verify(data, keys=[log.vkey()])


def test_a_truncated_bundle_is_rejected(log: Log) -> None:
    data = build(log)
    with pytest.raises(BundleError, match="truncated"):
        verify(data[: len(data) // 2], keys=[log.vkey()])


def test_a_missing_member_is_named(log: Log) -> None:
    src = zipfile.ZipFile(io.BytesIO(build(log)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if not info.filename.startswith("photos/"):
                dst.writestr(info.filename, src.read(info))
    with pytest.raises(
        BundleError, match=f"photos/{PHOTO_SHA}: listed in the manifest but missing"
    ):
        verify(out.getvalue(), keys=[log.vkey()])


def test_a_proof_for_another_tree_size_is_rejected(log: Log) -> None:
    # Given proofs made for a tree of 9 leaves, checked against a kept checkpoint of size 8
    kept = log.note(8)
    with pytest.raises(BundleError, match=r"proof is for another tree size|not covered"):
        verify(build(log), keys=[log.vkey()], checkpoint_note=kept)


def test_proofs_against_a_kept_checkpoint_of_the_same_size_verify(log: Log) -> None:
    report = verify_bundle(io.BytesIO(build(log)), keys=[log.vkey()], checkpoint_note=log.note(9))
    assert report.tree_size == 9


def test_a_replaced_photo_is_named(log: Log) -> None:
    data = build(log, photo=PHOTO + b"retouched")
    with pytest.raises(BundleError, match=f"photo {PHOTO_SHA} .*position 2.*replaced"):
        verify(data, keys=[log.vkey()])


def test_a_photo_missing_from_the_store_is_named(log: Log) -> None:
    with pytest.raises(BundleError, match=f"photo {PHOTO_SHA} .*missing from the store"):
        verify(build(log, photo=None), keys=[log.vkey()])


def test_a_deleted_event_shows_as_a_version_gap(log: Log) -> None:
    # Given the log lost the case's version 2 (its proof no longer matters)
    def delete(events: list[BundleEvent]) -> list[BundleEvent]:
        return [events[0], events[2]]

    with pytest.raises(BundleError, match=r"position 8: .* version 3 where version 2"):
        verify(build(log, edit=delete), keys=[log.vkey()])


def test_reordered_events_are_rejected(log: Log) -> None:
    with pytest.raises(BundleError, match="out of log order"):
        verify(build(log, edit=lambda e: [e[0], e[2], e[1]]), keys=[log.vkey()])


def test_swapped_payloads_fail_at_the_first_swapped_position(log: Log) -> None:
    # Given two events whose stored states were swapped in the log
    def swap(events: list[BundleEvent]) -> list[BundleEvent]:
        a, b = events[1], events[2]
        return [
            events[0],
            replace(a, record=replace(a.record, state=b.record.state)),
            replace(b, record=replace(b.record, state=a.record.state)),
        ]

    with pytest.raises(BundleError, match=r"event at position 5 .*inclusion proof fails"):
        verify(build(log, edit=swap), keys=[log.vkey()])


def test_not_a_bundle_at_all() -> None:
    with pytest.raises(BundleError, match="not a readable bundle"):
        verify(b"hello")


def test_photo_refs_reads_photo_fields_only() -> None:
    other = "ab" * 32
    state = json.dumps(
        {"photos": [PHOTO_SHA, PHOTO_SHA], "after_photos": [other], "content_hash": "cd" * 32}
    ).encode()
    assert photo_refs(state) == (PHOTO_SHA, other)
    assert photo_refs(b"\xff not json") == ()
