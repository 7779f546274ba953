"""The evidence log for auditors and the public: checkpoints, stored entries and proofs.

Auditors (role ``auditor`` only) read signed checkpoints, the stored bytes of any sealed event
and RFC 9162 inclusion / consistency proofs; every call is written to the access audit before
anything is answered. Proofs are given only for tree sizes with a signed checkpoint — an
unsigned root proves nothing to anyone — and each proof comes with the checkpoint(s) it is
checked against. What the public may read and check is in :mod:`backend.services.public_log`.

Hashes in JSON are lowercase hex; the signed notes carry base64 as their format requires.
"""

from __future__ import annotations

import base64
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services import access_audit
from backend.services.actor import Actor
from backend.services.scope import require_role
from storage.log_keys import load_key_ring
from storage.merkle import (
    LEAF_FORMAT,
    assemble,
    consistency_plan,
    inclusion_plan,
    plan_nodes,
)
from storage.merkle_store import (
    StoredCheckpoint,
    checkpoint_at,
    checkpoints,
    fetch_nodes,
    latest_checkpoint,
    sealed_entry,
)
from storage.signed_note import KeyRing, NoteError

__all__ = [
    "AuditLogService",
    "CheckpointView",
    "inclusion_proof",
    "key_ring",
    "latest_or_404",
    "proof_hex",
    "view",
]

AUDITOR = "auditor"
_DEFAULT_REASON = "evidence log audit"


def key_ring(container: Container) -> KeyRing:
    """The log's keys, loaded once per container (see storage.log_keys for the sources)."""
    ring = container.services.get("log_key_ring")
    if not isinstance(ring, KeyRing):
        s = container.settings
        try:
            ring = load_key_ring(
                origin=s.log_origin,
                var_dir=s.var_dir,
                key_file=s.log_key_file,
                signing_key=s.log_signing_key,
                verifier_keys=s.log_verifier_keys,
            )
        except (NoteError, OSError) as error:
            # A misconfigured key file is the operator's to fix; say what is wrong, no trace.
            raise ApiError(50320, f"evidence log keys unavailable: {error}") from None
        container.services["log_key_ring"] = ring
    return ring


class CheckpointView(msgspec.Struct, kw_only=True):
    tree_size: int
    root_hash: str
    """Hex of the RFC 9162 root of the first ``tree_size`` leaves."""
    key_id: str
    """Hex id of the signing key (signed-note key id)."""
    signed_note: str
    """The C2SP signed note: origin, size, base64 root, ``time`` line, signature."""
    issued_at: datetime


class CheckpointPage(msgspec.Struct, kw_only=True):
    items: list[CheckpointView]
    next_before: int | None
    """Pass as ``before`` for the next (older) page; null on the last page."""


class LogEntryView(msgspec.Struct, kw_only=True):
    position: int
    leaf_index: int
    leaf_hash: str
    originator_id: UUID
    originator_version: int
    topic: str
    state_base64: str
    """The stored state bytes, unchanged, base64."""
    leaf_encoding: str
    """Name of the leaf encoding (storage.merkle.leaf_data): every field length-prefixed."""


class InclusionProofView(msgspec.Struct, kw_only=True):
    position: int
    leaf_index: int
    leaf_hash: str
    tree_size: int
    proof: list[str]
    """RFC 9162 inclusion path, leaf side first, hex."""
    checkpoint: CheckpointView


class ConsistencyProofView(msgspec.Struct, kw_only=True):
    first: int
    second: int
    proof: list[str]
    """RFC 9162 consistency proof from ``first`` to ``second``, hex."""
    first_checkpoint: CheckpointView
    second_checkpoint: CheckpointView


class LogKeyView(msgspec.Struct, kw_only=True):
    name: str
    key_id: str
    vkey: str
    """Verifier key in signed-note form ``name+id+base64``."""
    active: bool


class LogKeys(msgspec.Struct, kw_only=True):
    origin: str
    keys: list[LogKeyView]


def view(cp: StoredCheckpoint) -> CheckpointView:
    return CheckpointView(
        tree_size=cp.tree_size,
        root_hash=cp.root_hash.hex(),
        key_id=cp.key_id,
        signed_note=cp.signed_note,
        issued_at=cp.issued_at,
    )


async def latest_or_404(container: Container) -> StoredCheckpoint:
    latest = await latest_checkpoint(container.pool)
    if latest is None:
        raise ApiError(40485, "no checkpoint has been issued yet; the sealer has not run")
    return latest


def _in_range(tree_size: int, latest: StoredCheckpoint) -> int:
    if not 1 <= tree_size <= latest.tree_size:
        raise ApiError(
            40085,
            f"tree size {tree_size} is outside 1..{latest.tree_size} (the latest checkpoint)",
            tree_size=tree_size,
            latest_tree_size=latest.tree_size,
        )
    return tree_size


async def _signed(container: Container, tree_size: int, latest: StoredCheckpoint) -> CheckpointView:
    found = await checkpoint_at(container.pool, _in_range(tree_size, latest))
    if found is None:
        raise ApiError(
            40485,
            f"no signed checkpoint for tree size {tree_size}; list them at "
            "/v1/audit/log/checkpoints",
            tree_size=tree_size,
        )
    return view(found)


async def inclusion_proof(pool: asyncpg.Pool, *, leaf_index: int, tree_size: int) -> list[bytes]:
    """RFC 9162 inclusion path of a sealed leaf in the tree of ``tree_size`` leaves, read from
    the stored subtrees in one query (``ProofError`` for impossible sizes, ``LookupError`` for a
    size not sealed yet)."""
    plan = inclusion_plan(leaf_index, tree_size)
    return assemble(plan, await fetch_nodes(pool, plan_nodes(plan)))


async def proof_hex(container: Container, plan: list[list[tuple[int, int]]]) -> list[str]:
    nodes = await fetch_nodes(container.pool, plan_nodes(plan))
    return [h.hex() for h in assemble(plan, nodes)]


class AuditLogService:
    """Auditor reads of the evidence log; each call is access-audited before it answers."""

    def __init__(self, container: Container) -> None:
        self.container = container

    async def _audit(self, actor: Actor, action: str, subject: str, reason: str | None) -> None:
        require_role(actor, AUDITOR)
        await access_audit.record(
            self.container.pool,
            actor=actor,
            action=action,
            subject_kind="evidence_log",
            subject_id=subject,
            reason=reason or _DEFAULT_REASON,
        )

    async def latest(self, actor: Actor, *, reason: str | None) -> CheckpointView:
        await self._audit(actor, "log_checkpoint_read", "latest", reason)
        return view(await latest_or_404(self.container))

    async def history(
        self,
        actor: Actor,
        *,
        before: int | None,
        since: datetime | None,
        limit: int,
        reason: str | None,
    ) -> CheckpointPage:
        await self._audit(actor, "log_checkpoints_read", f"before:{before}", reason)
        found = await checkpoints(self.container.pool, before=before, since=since, limit=limit)
        last = found[-1].tree_size if len(found) == limit else None
        return CheckpointPage(items=[view(c) for c in found], next_before=last)

    async def entry(self, actor: Actor, position: int, *, reason: str | None) -> LogEntryView:
        await self._audit(actor, "log_entry_read", f"position:{position}", reason)
        found = await sealed_entry(self.container.pool, position)
        if found is None:
            raise ApiError(40486, f"no sealed log entry at position {position}", position=position)
        r = found.record
        return LogEntryView(
            position=position,
            leaf_index=found.leaf_index,
            leaf_hash=found.leaf_hash.hex(),
            originator_id=r.originator_id,
            originator_version=r.originator_version,
            topic=r.topic,
            state_base64=base64.b64encode(r.state).decode(),
            leaf_encoding=LEAF_FORMAT.decode(),
        )

    async def inclusion(
        self, actor: Actor, position: int, *, tree_size: int | None, reason: str | None
    ) -> InclusionProofView:
        await self._audit(actor, "log_inclusion_proof", f"position:{position}", reason)
        latest = await latest_or_404(self.container)
        size = latest.tree_size if tree_size is None else tree_size
        checkpoint = await _signed(self.container, size, latest)
        found = await sealed_entry(self.container.pool, position)
        if found is None:
            raise ApiError(40486, f"no sealed log entry at position {position}", position=position)
        if found.leaf_index >= checkpoint.tree_size:
            raise ApiError(
                40085,
                f"the event at position {position} is leaf {found.leaf_index}, not in a tree "
                f"of size {checkpoint.tree_size}; ask for a later checkpoint",
                leaf_index=found.leaf_index,
                tree_size=checkpoint.tree_size,
            )
        proof = await proof_hex(
            self.container, inclusion_plan(found.leaf_index, checkpoint.tree_size)
        )
        return InclusionProofView(
            position=position,
            leaf_index=found.leaf_index,
            leaf_hash=found.leaf_hash.hex(),
            tree_size=checkpoint.tree_size,
            proof=proof,
            checkpoint=checkpoint,
        )

    async def consistency(
        self, actor: Actor, *, first: int, second: int | None, reason: str | None
    ) -> ConsistencyProofView:
        await self._audit(actor, "log_consistency_proof", f"{first}..{second}", reason)
        latest = await latest_or_404(self.container)
        second = latest.tree_size if second is None else second
        if first > second:
            raise ApiError(
                40085,
                f"first ({first}) must not exceed second ({second})",
                first=first,
                second=second,
            )
        _in_range(first, latest), _in_range(second, latest)
        old = await _signed(self.container, first, latest)
        new = await _signed(self.container, second, latest)
        return ConsistencyProofView(
            first=first,
            second=second,
            proof=await proof_hex(self.container, consistency_plan(first, second)),
            first_checkpoint=old,
            second_checkpoint=new,
        )

    async def keys(self, actor: Actor, *, reason: str | None) -> LogKeys:
        await self._audit(actor, "log_keys_read", "keys", reason)
        return log_keys(self.container)


def log_keys(container: Container) -> LogKeys:
    ring = key_ring(container)
    active = ring.active.verifier
    return LogKeys(
        origin=container.settings.log_origin,
        keys=[
            LogKeyView(name=v.name, key_id=f"{v.key_id:08x}", vkey=v.vkey, active=v == active)
            for v in ring.verifiers
        ],
    )
