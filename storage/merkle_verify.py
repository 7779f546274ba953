"""RFC 9162 hashing primitives and proof verification — pure, no I/O, no dependencies.

Split from :mod:`storage.merkle` so an offline verifier needs only this module; everything here
is re-exported there. Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
(consistency) step by step and raises :class:`ProofError` naming what failed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "ProofError",
    "fold",
    "leaf_hash",
    "node_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof was asked for impossible sizes, or a proof did not verify (message says why)."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def fold(hashes: Sequence[bytes]) -> bytes:
    """Fold a decomposition's hashes right to left (the ragged right edge is nested right)."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _check_hashes(*values: bytes) -> None:
    if any(len(v) != HASH_SIZE for v in values):
        raise ProofError("a hash in the proof is not 32 bytes")


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: raise :class:`ProofError` unless ``leaf`` (a leaf hash) is leaf
    ``index`` of the tree of ``size`` leaves whose root is ``root``."""
    _check_hashes(leaf, root, *proof)
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root hash")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: raise :class:`ProofError` unless the tree of ``second`` leaves with
    ``second_root`` extends the tree of ``first`` leaves with ``first_root``."""
    _check_hashes(first_root, second_root, *proof)
    if not 0 <= first <= second:
        raise ProofError(f"size {first} cannot be a prefix of size {second}")
    if first == second or first == 0:
        if proof:
            raise ProofError("a consistency proof for these sizes must be empty")
        if first == second and first_root != second_root:
            raise ProofError("the two roots differ for the same tree size")
        if first == 0 and first_root != EMPTY_ROOT:
            raise ProofError("the root of the empty tree is not SHA-256 of nothing")
        return
    _verify_consistency_path(first, second, first_root, second_root, list(proof))


def _verify_consistency_path(
    first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]
) -> None:
    if not path:
        raise ProofError("consistency proof is empty")
    if first & (first - 1) == 0:  # first is a power of two: its root is a node of the new tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the tree is deep")
    if fr != first_root:
        raise ProofError(f"consistency proof does not lead to the root of size {first}")
    if sr != second_root:
        raise ProofError(f"consistency proof does not lead to the root of size {second}")
