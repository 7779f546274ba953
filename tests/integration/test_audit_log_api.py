"""Stories of the evidence log's API: an auditor reads checkpoints, entries and proofs and checks
them offline with the pure verifiers; everyone else is refused; every auditor call is in the
access audit; the public reads the checkpoint and checks one it kept."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

import httpx
import pytest

from backend.bootstrap import Container
from backend.services.audit_log import key_ring
from backend.workers.sealer import seal
from storage.merkle import (
    StoredRecord,
    leaf_data,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from storage.signed_note import (
    Checkpoint,
    KeyRing,
    Signer,
    Verifier,
    open_note,
    parse_checkpoint,
)
from tests.support.households import household_body, register
from tests.support.world import World

Client = httpx.AsyncClient
Json = dict[str, Any]
LOG = "/v1/audit/log"


async def sealed_twice(client: Client, world: World, container: Container) -> tuple[int, int]:
    """Two checkpoints with a household registered between them; returns their sizes."""
    first = await seal(container, wait=True, force_checkpoint=True)
    await register(client, world.headers["admin"], household_body(world.grid_a1))
    second = await seal(container, wait=True, force_checkpoint=True)
    assert first is not None
    assert second is not None
    return first.tree_size, second.tree_size


async def get(client: Client, world: World, path: str, **params: Any) -> httpx.Response:
    return await client.get(f"{LOG}{path}", headers=world.headers["auditor"], params=params)


def ok(response: httpx.Response) -> Json:
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


@pytest.fixture(scope="module")
async def sizes(client: Client, world: World, container: Container) -> tuple[int, int]:
    return await sealed_twice(client, world, container)


async def test_given_an_auditor_when_proving_an_event_then_it_verifies_offline(
    client: Client, world: World, sizes: tuple[int, int], container: Container
) -> None:
    # given the auditor's copy of the verifier keys
    keys = ok(await get(client, world, "/keys"))
    verifiers = [Verifier.from_vkey(k["vkey"]) for k in keys["keys"]]
    assert [k["active"] for k in keys["keys"]].count(True) == 1
    # when they read the latest entry and its inclusion proof
    position = await container.pool.fetchval("SELECT max(position) FROM merkle_leaves")
    entry = ok(await get(client, world, f"/entries/{position}"))
    proved = ok(await get(client, world, "/proofs/inclusion", position=position))
    # then the entry's bytes hash to its leaf, and the leaf is in the signed tree
    record = StoredRecord(
        UUID(entry["originator_id"]),
        entry["originator_version"],
        entry["topic"],
        base64.b64decode(entry["state_base64"]),
        entry["position"],
    )
    assert leaf_hash(leaf_data(record)).hex() == entry["leaf_hash"] == proved["leaf_hash"]
    note = open_note(proved["checkpoint"]["signed_note"], verifiers)
    body = parse_checkpoint(note.text)
    assert body.size == proved["tree_size"] == sizes[1]
    verify_inclusion(
        bytes.fromhex(proved["leaf_hash"]),
        proved["leaf_index"],
        body.size,
        [bytes.fromhex(p) for p in proved["proof"]],
        body.root_hash,
    )


async def test_given_two_checkpoints_then_the_consistency_proof_verifies(
    client: Client, world: World, sizes: tuple[int, int], container: Container
) -> None:
    first, second = sizes
    proved = ok(await get(client, world, "/proofs/consistency", first=first, second=second))
    verifiers = key_ring(container).verifiers
    old = parse_checkpoint(open_note(proved["first_checkpoint"]["signed_note"], verifiers).text)
    new = parse_checkpoint(open_note(proved["second_checkpoint"]["signed_note"], verifiers).text)
    proof = [bytes.fromhex(p) for p in proved["proof"]]
    verify_consistency(first, second, old.root_hash, new.root_hash, proof)


async def test_checkpoints_are_listed_newest_first_and_page_by_size(
    client: Client, world: World, sizes: tuple[int, int]
) -> None:
    page = ok(await get(client, world, "/checkpoints", limit=1))
    latest = ok(await get(client, world, "/checkpoints/latest"))
    assert page["items"][0] == latest
    older = ok(await get(client, world, "/checkpoints", before=page["next_before"], limit=500))
    assert all(c["tree_size"] < latest["tree_size"] for c in older["items"])
    assert sizes[0] in [c["tree_size"] for c in older["items"]]
    assert older["next_before"] is None


@pytest.mark.parametrize(
    ("path", "params", "errcode"),
    [
        ("/proofs/consistency", {"first": 0}, 40085),
        ("/proofs/consistency", {"first": 5, "second": 4}, 40085),
        ("/proofs/consistency", {"first": 1, "second": 10**12}, 40085),
        ("/proofs/inclusion", {"position": 1, "tree_size": 0}, 40085),
        ("/proofs/inclusion", {"position": 1, "tree_size": 10**12}, 40085),
        ("/proofs/inclusion", {"position": 10**12}, 40486),
        ("/entries/999999999999", {}, 40486),
    ],
)
async def test_bad_sizes_and_positions_are_refused_with_a_clear_errcode(
    client: Client,
    world: World,
    sizes: tuple[int, int],
    path: str,
    params: Json,
    errcode: int,
) -> None:
    response = await get(client, world, path, **params)
    assert response.status_code in (400, 404), response.text
    assert response.json()["errcode"] == errcode
    assert response.json()["errmsg"]


async def test_a_size_without_a_checkpoint_and_a_leaf_beyond_the_tree_are_refused(
    client: Client, world: World, sizes: tuple[int, int], container: Container
) -> None:
    first, second = sizes
    signed = {r[0] for r in await container.pool.fetch("SELECT tree_size FROM log_checkpoints")}
    unsigned = next(n for n in range(1, second) if n not in signed)
    response = await get(client, world, "/proofs/consistency", first=unsigned, second=second)
    assert response.json()["errcode"] == 40485, response.text
    late = await container.pool.fetchval(
        "SELECT position FROM merkle_leaves WHERE leaf_index = $1", second - 1
    )
    response = await get(client, world, "/proofs/inclusion", position=late, tree_size=first)
    assert response.json()["errcode"] == 40085, response.text
    assert "leaf" in response.json()["errmsg"]


@pytest.mark.parametrize("role", ["admin", "supervisor", "member_a1", "member_b1", "head_a"])
async def test_only_auditors_may_read_the_log(
    client: Client, world: World, sizes: tuple[int, int], role: str
) -> None:
    for path in ("/checkpoints/latest", "/entries/1", "/keys"):
        response = await client.get(f"{LOG}{path}", headers=world.headers[role])
        assert response.status_code == 403, response.text
        assert response.json()["errcode"] == 40300


async def test_every_auditor_call_is_in_the_access_audit(
    client: Client, world: World, sizes: tuple[int, int], container: Container
) -> None:
    before = await container.pool.fetchval("SELECT count(*) FROM access_audit")
    await get(client, world, "/entries/1", reason="案件复核")
    await get(client, world, "/proofs/consistency", first=0)  # refused calls are audited too
    rows = await container.pool.fetch(
        "SELECT actor_id, actor_role, action, subject_id, reason FROM access_audit"
        " ORDER BY id DESC LIMIT 2"
    )
    assert await container.pool.fetchval("SELECT count(*) FROM access_audit") == before + 2
    assert [r["action"] for r in rows] == ["log_consistency_proof", "log_entry_read"]
    assert rows[1]["reason"] == "案件复核"
    assert {r["actor_id"] for r in rows} == {world.staff["auditor"]}


async def test_the_public_reads_the_latest_checkpoint_as_plain_text(
    client: Client, world: World, sizes: tuple[int, int]
) -> None:
    response = await client.get("/v1/public/log/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    keys = (await client.get("/v1/public/log/keys")).text.splitlines()
    note = open_note(response.text, [Verifier.from_vkey(k) for k in keys])
    assert parse_checkpoint(note.text).size == sizes[1]


async def check(client: Client, note: str) -> httpx.Response:
    return await client.post("/v1/public/log/consistency", json={"checkpoint": note})


async def test_a_kept_checkpoint_is_proved_consistent_with_the_current_one(
    client: Client, world: World, sizes: tuple[int, int], container: Container
) -> None:
    kept = await container.pool.fetchval(
        "SELECT signed_note FROM log_checkpoints WHERE tree_size = $1", sizes[0]
    )
    await register(client, world.headers["admin"], household_body(world.grid_a1))
    await seal(container, wait=True, force_checkpoint=True)
    verdict = ok(await check(client, kept))
    assert verdict["verdict"] == "consistent", verdict
    assert verdict["kept"]["tree_size"] == sizes[0]
    assert verdict["current"]["tree_size"] > sizes[0]
    assert verdict["proof"]


async def test_a_kept_checkpoint_the_log_no_longer_extends_is_called_inconsistent(
    client: Client, world: World, sizes: tuple[int, int], container: Container
) -> None:
    ring = key_ring(container)
    origin = container.settings.log_origin
    forged_root = ring.sign_checkpoint(Checkpoint(origin, sizes[0], bytes(32)))
    assert ok(await check(client, forged_root))["verdict"] == "inconsistent"
    beyond = ring.sign_checkpoint(Checkpoint(origin, 10**9, bytes(32)))
    assert ok(await check(client, beyond))["verdict"] == "log_behind"


async def test_a_note_by_an_unknown_key_or_malformed_is_refused(
    client: Client, world: World, sizes: tuple[int, int], container: Container
) -> None:
    origin = container.settings.log_origin
    stranger = KeyRing([Signer.generate(origin)])
    response = await check(client, stranger.sign_checkpoint(Checkpoint(origin, 1, bytes(32))))
    assert response.status_code == 400
    assert response.json()["errcode"] == 40087
    for bad in ("not a note", "x\n\n\u2014 a AAAA\n"):
        response = await check(client, bad)
        assert response.status_code == 400
        assert response.json()["errcode"] == 40086
    other_log = key_ring(container).sign_checkpoint(Checkpoint("other.example/log", 1, bytes(32)))
    assert (await check(client, other_log)).json()["errcode"] == 40086
