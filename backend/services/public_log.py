"""Publication of the evidence log: anyone, without an account, reads the latest signed
checkpoint and the verifier keys, and may hand back a checkpoint they kept to learn whether
today's log still extends it — a rewritten or rolled-back log cannot, and says so."""

from __future__ import annotations

from typing import Literal

import msgspec

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.audit_log import CheckpointView, key_ring, latest_or_404, proof_hex, view
from storage.merkle import ProofError, consistency_plan, verify_consistency
from storage.merkle_store import StoredCheckpoint
from storage.signed_note import NoteError, UnknownKeyError

__all__ = ["ConsistencyVerdict", "KeptCheckpoint", "PublicLogService"]


class KeptCheckpoint(msgspec.Struct, kw_only=True):
    origin: str
    tree_size: int
    root_hash: str
    signed_by: list[str]
    """Verifier keys whose signatures on the kept note verified."""


Verdict = Literal["consistent", "inconsistent", "log_behind"]


class ConsistencyVerdict(msgspec.Struct, kw_only=True):
    verdict: Verdict
    """``consistent``: today's log extends the kept checkpoint. ``inconsistent``: it does not
    (the log was rewritten or forked). ``log_behind``: the kept checkpoint is larger than the
    latest one (the log was rolled back)."""
    detail: str
    kept: KeptCheckpoint
    current: CheckpointView
    proof: list[str]


class PublicLogService:
    """What anyone may read or check, without an account: the latest signed checkpoint."""

    def __init__(self, container: Container) -> None:
        self.container = container

    async def latest_note(self) -> str:
        return (await latest_or_404(self.container)).signed_note

    def verifier_keys(self) -> str:
        return "".join(f"{v.vkey}\n" for v in key_ring(self.container).verifiers)

    async def check(self, signed_note: str) -> ConsistencyVerdict:
        kept = self._open(signed_note)
        latest = await latest_or_404(self.container)
        current = view(latest)
        if kept.tree_size > latest.tree_size:
            return _verdict("log_behind", kept, current, [], _behind(kept, latest))
        plan = consistency_plan(kept.tree_size, latest.tree_size) if kept.tree_size else []
        proof = await proof_hex(self.container, plan)
        try:
            verify_consistency(
                kept.tree_size,
                latest.tree_size,
                bytes.fromhex(kept.root_hash),
                latest.root_hash,
                [bytes.fromhex(p) for p in proof],
            )
        except ProofError as error:
            return _verdict("inconsistent", kept, current, proof, f"the log does not extend "
                            f"the kept checkpoint: {error}")  # fmt: skip
        return _verdict("consistent", kept, current, proof, "the log extends the kept checkpoint")

    def _open(self, signed_note: str) -> KeptCheckpoint:
        ring = key_ring(self.container)
        try:
            checkpoint, note = ring.open_checkpoint(signed_note)
        except UnknownKeyError as error:
            raise ApiError(40087, str(error), known_keys=[v.vkey for v in ring.verifiers]) from None
        except NoteError as error:
            raise ApiError(40086, f"not a signed checkpoint: {error}") from None
        origin = self.container.settings.log_origin
        if checkpoint.origin != origin:
            raise ApiError(40086, f"checkpoint of {checkpoint.origin!r}, not of {origin!r}")
        return KeptCheckpoint(
            origin=checkpoint.origin,
            tree_size=checkpoint.size,
            root_hash=checkpoint.root_hash.hex(),
            signed_by=[v.vkey for v in note.verified_by],
        )


def _behind(kept: KeptCheckpoint, latest: StoredCheckpoint) -> str:
    return (
        f"the kept checkpoint has {kept.tree_size} leaves but the latest only "
        f"{latest.tree_size}: the log was rolled back"
    )


def _verdict(
    verdict: Verdict, kept: KeptCheckpoint, current: CheckpointView, proof: list[str], detail: str
) -> ConsistencyVerdict:
    return ConsistencyVerdict(
        verdict=verdict, detail=detail, kept=kept, current=current, proof=proof
    )
