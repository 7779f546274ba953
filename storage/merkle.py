"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing and proofs — pure, no I/O.

Hashing (RFC 9162 §2.1.1): a leaf is ``SHA-256(0x00 || data)``, an interior node
``SHA-256(0x01 || left || right)``, the empty tree ``SHA-256("")``; a tree of n > 1 leaves splits
at the largest power of two smaller than n.

Every subtree that RFC 9162 ever hashes is either *perfect* — 2**level leaves starting at a
multiple of 2**level, addressed ``(level, index)`` — or the ragged right edge of a tree, which is
folded from the perfect subtrees of its binary decomposition (:func:`perfect_parts`). Perfect
subtrees never change once complete, so a log stores them as it grows (:class:`Frontier` yields
each one as it completes) and answers any proof with one batched read: :func:`inclusion_plan` /
:func:`consistency_plan` name the perfect nodes needed, :func:`assemble` turns their hashes into
the proof. :class:`MemoryTree` does the same in memory (tests, offline tools).

The record encoding (:func:`leaf_data`) is ours; see its docstring. The hashing primitives and
the RFC's verification algorithms live in :mod:`storage.merkle_verify` (re-exported here).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from storage.merkle_verify import (
    EMPTY_ROOT,
    HASH_SIZE,
    ProofError,
    fold,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_FORMAT",
    "Frontier",
    "MemoryTree",
    "NodeId",
    "ProofError",
    "StoredRecord",
    "assemble",
    "column_leaf_hash",
    "consistency_plan",
    "encode_leaf",
    "inclusion_plan",
    "leaf_data",
    "leaf_hash",
    "node_hash",
    "perfect_parts",
    "plan_nodes",
    "record_leaf_hash",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

LEAF_FORMAT = b"gridledger/event/v1"

NodeId = tuple[int, int]
"""A perfect subtree ``(level, index)``: leaves ``[index << level, (index + 1) << level)``."""

Plan = list[list[NodeId]]
"""One entry per proof hash: the perfect subtrees (left to right) whose fold is that hash."""


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """An event exactly as the event table stores it, plus its log position."""

    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    position: int


_HEAD = struct.pack(">I", len(LEAF_FORMAT)) + LEAF_FORMAT + struct.pack(">I", 16)
_MIDDLE = struct.Struct(">IQI")  # len 8, version, len(topic)
_POSITION = struct.Struct(">IQ")  # len 8, position


def encode_leaf(
    originator_id: UUID, originator_version: int, topic: str, state: bytes, position: int
) -> bytes:
    """:func:`leaf_data` from the columns, without building a record (the sealer's hot path)."""
    name = topic.encode()
    return b"".join(
        (
            _HEAD,
            originator_id.bytes,
            _MIDDLE.pack(8, originator_version, len(name)),
            name,
            struct.pack(">I", len(state)),
            state,
            _POSITION.pack(8, position),
        )
    )


def column_leaf_hash(
    originator_id: UUID, originator_version: int, topic: str, state: bytes, position: int
) -> bytes:
    """``leaf_hash(encode_leaf(...))`` in one pass (the sealer's hot path)."""
    name = topic.encode()
    return hashlib.sha256(
        b"".join(
            (
                b"\x00" + _HEAD,
                originator_id.bytes,
                _MIDDLE.pack(8, originator_version, len(name)),
                name,
                struct.pack(">I", len(state)),
                state,
                _POSITION.pack(8, position),
            )
        )
    ).digest()


def leaf_data(record: StoredRecord) -> bytes:
    """The canonical bytes of a stored record — the data a leaf hashes.

    ``len32("gridledger/event/v1") || len32(id) || len32(version) || len32(topic) ||
    len32(state) || len32(position)`` where ``len32(x)`` is x's length as a 4-byte big-endian
    unsigned integer followed by x; ``id`` is the 16 raw bytes of the originator UUID,
    ``version`` and ``position`` are 8-byte big-endian unsigned integers, ``topic`` is UTF-8 and
    ``state`` the stored bytes unchanged. Every field is length-prefixed, so no two different
    records encode to the same bytes; the format tag lets a later encoding coexist.
    """
    r = record
    return encode_leaf(r.originator_id, r.originator_version, r.topic, bytes(r.state), r.position)


def record_leaf_hash(record: StoredRecord) -> bytes:
    return leaf_hash(leaf_data(record))


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_parts(start: int, end: int) -> list[NodeId]:
    """The perfect subtrees, left to right, whose fold is the RFC subtree ``[start, end)``."""
    parts: list[NodeId] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start & ((1 << level) - 1):
            raise ProofError(f"[{start}, {end}) is not a subtree of an RFC 9162 tree")
        parts.append((level, start >> level))
        start += 1 << level
    return parts


def inclusion_plan(index: int, size: int) -> Plan:
    """The nodes of RFC 9162 ``PATH(index, D[0:size])``, leaf side first (§2.1.3.1)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    plan: Plan = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            plan.append(perfect_parts(start + k, end))
            end = start + k
        else:
            plan.append(perfect_parts(start, start + k))
            start += k
    plan.reverse()
    return plan


def consistency_plan(first: int, second: int) -> Plan:
    """The nodes of RFC 9162 ``PROOF(first, D[0:second])`` (§2.1.4.1); empty if first is 0 or
    equal to second."""
    if not 0 <= first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    plan: Plan = []
    start, end, m, complete = 0, second, first, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            plan.append(perfect_parts(start + k, end))
            end = start + k
        else:
            plan.append(perfect_parts(start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        plan.append(perfect_parts(start, end))
    plan.reverse()
    return plan


def assemble(plan: Plan, nodes: Mapping[NodeId, bytes] | Callable[[NodeId], bytes]) -> list[bytes]:
    """Turn a plan into proof hashes, reading perfect-subtree hashes from ``nodes``."""
    get = nodes.__getitem__ if isinstance(nodes, Mapping) else nodes
    return [fold([get(node) for node in parts]) for parts in plan]


def plan_nodes(plan: Plan) -> set[NodeId]:
    """Every distinct perfect subtree a plan reads (to fetch them in one query)."""
    return {node for parts in plan for node in parts}


def root_hash(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH of the leaves (given as leaf hashes), in O(n) time and O(log n) memory."""
    frontier = Frontier()
    for value in leaf_hashes:
        frontier.append(value)
    return frontier.root()


class Frontier:
    """The compact range ``[0, size)``: one perfect-subtree hash per set bit of ``size``.

    Appending a leaf costs O(1) amortised hashes (at most log n); :meth:`append` returns the
    perfect subtrees it completed, leaf first, so a log can store them for later proofs.
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ProofError(f"a frontier of size {size} has {size.bit_count()} hashes")
        self.size = size
        self.hashes = list(hashes)  # left (largest subtree) to right

    @staticmethod
    def nodes_for(size: int) -> list[NodeId]:
        """The perfect subtrees a frontier of ``size`` holds, left to right (to restore one)."""
        return perfect_parts(0, size)

    def append(self, value: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; returns ``(level, index, hash)`` of each subtree it completed."""
        index, level, current, hashes = self.size, 0, value, self.hashes
        self.size = index + 1
        done = [(0, index, current)]
        while index & 1:  # half the leaves complete nothing above themselves
            current = hashlib.sha256(b"\x01" + hashes.pop() + current).digest()
            index, level = index >> 1, level + 1
            done.append((level, index, current))
        hashes.append(current)
        return done

    def root(self) -> bytes:
        return fold(self.hashes) if self.hashes else EMPTY_ROOT


class MemoryTree:
    """A whole tree in memory, every perfect subtree kept: proofs for any size up to its own."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        self._frontier = Frontier()
        for value in leaf_hashes:
            self.append(value)

    @property
    def size(self) -> int:
        return self._frontier.size

    def append(self, value: bytes) -> None:
        for level, _index, node in self._frontier.append(value):
            if level == len(self.levels):
                self.levels.append([])
            self.levels[level].append(node)

    def node(self, node: NodeId) -> bytes:
        return self.levels[node[0]][node[1]]

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else self._checked(size)
        return fold([self.node(n) for n in perfect_parts(0, size)]) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return assemble(inclusion_plan(index, self._checked(size)), self.node)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return assemble(consistency_plan(first, self._checked(second)), self.node)

    def _checked(self, size: int) -> int:
        if not 0 <= size <= self.size:
            raise ProofError(f"tree size {size} is beyond this tree's {self.size} leaves")
        return size
