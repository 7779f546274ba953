"""RFC 9162 hashing and proofs, checked against the published CT test vectors and against an
independent implementation written straight from the RFC's recursive definitions."""

from __future__ import annotations

import hashlib
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.merkle import (
    EMPTY_ROOT,
    Frontier,
    MemoryTree,
    ProofError,
    StoredRecord,
    column_leaf_hash,
    consistency_plan,
    inclusion_plan,
    leaf_data,
    leaf_hash,
    record_leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

# RFC 6962 / Certificate Transparency reference inputs and tree heads (trillian and
# transparency-dev/merkle test data), used as data only.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip
CT_CONSISTENCY = [
    (1, 1, []),
    (2, 8, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


# --- an independent implementation, straight from RFC 9162 §2.1 -----------------------------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def entries(n: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(n)]


def test_given_the_ct_leaves_then_every_root_matches_the_published_tree_head() -> None:
    tree = MemoryTree(leaf_hash(d) for d in CT_LEAVES)
    assert [tree.root(n).hex() for n in range(9)] == CT_ROOTS
    assert EMPTY_ROOT.hex() == CT_ROOTS[0]


@pytest.mark.parametrize(("index", "size", "expected"), CT_INCLUSION)
def test_given_the_ct_leaves_then_inclusion_proofs_match_and_verify(
    index: int, size: int, expected: list[str]
) -> None:
    tree = MemoryTree(leaf_hash(d) for d in CT_LEAVES)
    proof = tree.inclusion_proof(index, size)
    assert [p.hex() for p in proof] == expected
    verify_inclusion(leaf_hash(CT_LEAVES[index]), index, size, proof, tree.root(size))


@pytest.mark.parametrize(("first", "second", "expected"), CT_CONSISTENCY)
def test_given_the_ct_leaves_then_consistency_proofs_match_and_verify(
    first: int, second: int, expected: list[str]
) -> None:
    tree = MemoryTree(leaf_hash(d) for d in CT_LEAVES)
    proof = tree.consistency_proof(first, second)
    assert [p.hex() for p in proof] == expected
    verify_consistency(first, second, tree.root(first), tree.root(second), proof)


def test_roots_and_proofs_agree_with_the_rfc_definitions_for_every_size_up_to_40() -> None:
    data = entries(40)
    tree = MemoryTree(leaf_hash(d) for d in data)
    for n in range(41):
        assert tree.root(n) == mth(data[:n]) == root_hash(leaf_hash(d) for d in data[:n])
        for m in range(n):
            assert tree.inclusion_proof(m, n) == path(m, data[:n])
        for m in range(1, n):
            assert tree.consistency_proof(m, n) == subproof(m, data[:n], True)


@given(st.integers(min_value=1, max_value=300), st.data())
def test_any_proof_verifies_and_any_changed_proof_fails(n: int, data: st.DataObject) -> None:
    tree = MemoryTree(leaf_hash(d) for d in entries(n))
    m = data.draw(st.integers(min_value=0, max_value=n - 1))
    proof = tree.inclusion_proof(m, n)
    verify_inclusion(leaf_hash(f"entry {m}".encode()), m, n, proof, tree.root())
    if proof:
        bad = [*proof[:-1], bytes(32)]
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash(f"entry {m}".encode()), m, n, bad, tree.root())
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash(f"entry {m}".encode()), m, n, proof[:-1], tree.root())
    first = data.draw(st.integers(min_value=1, max_value=n))
    cproof = tree.consistency_proof(first, n)
    verify_consistency(first, n, tree.root(first), tree.root(), cproof)
    if cproof:
        with pytest.raises(ProofError):
            verify_consistency(first, n, tree.root(first), tree.root(), [*cproof, bytes(32)])


def test_given_a_proof_for_another_tree_size_then_it_is_rejected() -> None:
    tree = MemoryTree(leaf_hash(d) for d in entries(20))
    proof = tree.inclusion_proof(3, 13)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(b"entry 3"), 3, 20, proof, tree.root(20))
    with pytest.raises(ProofError, match="root of size 20"):
        verify_consistency(7, 20, tree.root(7), tree.root(19), tree.consistency_proof(7, 20))


def test_degenerate_consistency_cases() -> None:
    tree = MemoryTree(leaf_hash(d) for d in entries(5))
    verify_consistency(0, 5, EMPTY_ROOT, tree.root(), [])
    verify_consistency(5, 5, tree.root(), tree.root(), [])
    with pytest.raises(ProofError):
        verify_consistency(5, 5, tree.root(4), tree.root(), [])
    with pytest.raises(ProofError):
        verify_consistency(6, 5, tree.root(), tree.root(), [])
    with pytest.raises(ProofError):
        verify_consistency(3, 5, tree.root(3), tree.root(), [])


def test_impossible_sizes_are_refused_with_a_message() -> None:
    with pytest.raises(ProofError, match="outside a tree of size 4"):
        inclusion_plan(4, 4)
    with pytest.raises(ProofError, match="from size 5 to size 3"):
        consistency_plan(5, 3)
    with pytest.raises(ProofError, match="beyond"):
        MemoryTree([leaf_hash(b"x")]).inclusion_proof(0, 2)


def test_frontier_yields_each_completed_subtree_and_restores_from_them() -> None:
    frontier, stored = Frontier(), {}
    for i, d in enumerate(entries(11)):
        completed = frontier.append(leaf_hash(d))
        assert completed[0] == (0, i, leaf_hash(d))
        stored.update({(level, idx): h for level, idx, h in completed})
    assert frontier.root() == mth(entries(11))
    restored = Frontier(11, [stored[n] for n in Frontier.nodes_for(11)])
    restored.append(leaf_hash(b"entry 11"))
    assert restored.root() == mth(entries(12))


def test_leaf_data_is_length_prefixed_so_field_boundaries_cannot_shift() -> None:
    base = StoredRecord(UUID(int=1), 1, "a.B", b"xy", 7)
    shifted = StoredRecord(UUID(int=1), 1, "a.Bx", b"y", 7)
    assert leaf_data(base) != leaf_data(shifted)
    assert record_leaf_hash(base) == leaf_hash(leaf_data(base))
    assert leaf_data(base).startswith(b"\x00\x00\x00\x13gridledger/event/v1\x00\x00\x00\x10")
    assert leaf_data(base).endswith(b"\x00\x00\x00\x08" + (7).to_bytes(8, "big"))


def test_the_sealers_column_hash_is_the_leaf_hash_of_the_record() -> None:
    record = StoredRecord(UUID(int=7), 3, "events.visit:VisitRecorded", b"\x00state", 42)
    assert column_leaf_hash(UUID(int=7), 3, record.topic, record.state, 42) == record_leaf_hash(
        record
    )
