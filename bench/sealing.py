"""Sealing rate and proof time of the evidence log, on a throwaway database.

Run: ``gridledger with-services -- python bench/sealing.py [--leaves N]``

Fills a fresh database (created beside ``DATABASE_URL``'s, dropped afterwards) with N synthetic
events shaped like ours (~300-byte states), then in the same run measures:

- ``raw_sha256_leaves_per_s``: read every stored record (the sealer's query and batches),
  lay its columns end to end (storage.merkle.encode_leaf) and SHA-256 them — the floor any
  sealing of stored records pays;
- ``sealing_leaves_per_s``: the sealer proper (read, encode, leaf hash, tree, COPY leaves and
  subtrees, checkpoint) from an empty tree to N leaves;
- ``pure_sealing_leaves_per_s`` / ``pure_sha256_leaves_per_s``: the same two without any I/O
  (the raw one hashes ready-made bytes only, the strictest baseline);
- inclusion and consistency proof times at N leaves from stored hashes (one query each).

The final line is JSON; ``ratio`` = sealing / raw hashing (the issue's aim: >= 0.3).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import statistics
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from anyio import to_thread

from backend.workers.sealer import _SELECT, SealPolicy, seal_locked
from storage.db import apply_migrations
from storage.eventstore import EVENTS_TABLE, EventLog, event_store_env
from storage.merkle import (
    Frontier,
    StoredRecord,
    assemble,
    column_leaf_hash,
    consistency_plan,
    encode_leaf,
    inclusion_plan,
    plan_nodes,
)
from storage.merkle_store import fetch_nodes
from storage.signed_note import KeyRing, Signer

BATCH = 5000


def with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def synthetic(n: int) -> list[tuple[uuid.UUID, int, str, bytes]]:
    rng = random.Random(6)
    aggregates = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(max(1, n // 8))]
    return [
        (aggregates[i % len(aggregates)], i // len(aggregates) + 1, "events.visit:VisitRecorded",
         rng.randbytes(300))
        for i in range(n)
    ]  # fmt: skip


async def fill(url: str, n: int) -> None:
    log = await to_thread.run_sync(lambda: EventLog(env=event_store_env(url)))
    await to_thread.run_sync(log.close)
    conn = await asyncpg.connect(url)
    try:
        await apply_migrations_once(url)
        await conn.copy_records_to_table(
            EVENTS_TABLE,
            records=synthetic(n),
            columns=("originator_id", "originator_version", "topic", "state"),
        )
        await conn.execute(f"ANALYZE {EVENTS_TABLE}")
    finally:
        await conn.close()


async def apply_migrations_once(url: str) -> None:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        await apply_migrations(pool)
    finally:
        await pool.close()


async def raw_hashing(conn: asyncpg.Connection) -> tuple[float, list[bytes]]:
    start, last, count, datas = time.perf_counter(), 0, 0, []
    while rows := await conn.fetch(_SELECT, last, BATCH):
        for position, originator_id, version, topic, state in rows:
            data = encode_leaf(originator_id, version, topic, state, position)
            hashlib.sha256(data).digest()
            datas.append(data)
        count += len(rows)
        last = rows[-1][0]
    return count / (time.perf_counter() - start), datas


def pure_rates(datas: list[bytes], records: list[StoredRecord]) -> tuple[float, float]:
    start = time.perf_counter()
    for data in datas:
        hashlib.sha256(data).digest()
    raw = len(datas) / (time.perf_counter() - start)
    start, frontier = time.perf_counter(), Frontier()
    for r in records:
        frontier.append(column_leaf_hash(r.originator_id, r.originator_version, r.topic, r.state,
                                         r.position))  # fmt: skip
    frontier.root()
    return raw, len(records) / (time.perf_counter() - start)


async def proof_times(conn: asyncpg.Connection, size: int, samples: int) -> dict[str, float]:
    rng = random.Random(9)
    inclusion, consistency = [], []
    for _ in range(samples):
        start = time.perf_counter()
        plan = inclusion_plan(rng.randrange(size), size)
        assemble(plan, await fetch_nodes(conn, plan_nodes(plan)))
        inclusion.append(time.perf_counter() - start)
        start = time.perf_counter()
        plan = consistency_plan(rng.randrange(1, size), size)
        assemble(plan, await fetch_nodes(conn, plan_nodes(plan)))
        consistency.append(time.perf_counter() - start)
    return {
        "inclusion_proof_ms_median": statistics.median(inclusion) * 1000,
        "inclusion_proof_ms_p99": sorted(inclusion)[int(samples * 0.99) - 1] * 1000,
        "consistency_proof_ms_median": statistics.median(consistency) * 1000,
    }


async def main(n: int, samples: int) -> dict[str, object]:
    base = os.environ["DATABASE_URL"]
    name = f"gridledger_bench_{os.getpid()}"
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_db(base, name)
    try:
        await fill(url, n)
        conn = await asyncpg.connect(url)
        try:
            raw_rate, datas = await raw_hashing(conn)
            records = [StoredRecord(*r) for r in _records(datas)]
            pure_raw, pure_seal = pure_rates(datas, records)
            del datas, records
            policy = SealPolicy(origin="bench/log", ring=KeyRing([Signer.generate("bench/log")]))
            start = time.perf_counter()
            report = await seal_locked(conn, policy)
            seal_rate = report.sealed / (time.perf_counter() - start)
            proofs = await proof_times(conn, report.tree_size, samples)
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return {
        "leaves": report.tree_size,
        "sealing_leaves_per_s": round(seal_rate),
        "raw_sha256_leaves_per_s": round(raw_rate),
        "ratio": round(seal_rate / raw_rate, 3),
        "pure_sealing_leaves_per_s": round(pure_seal),
        "pure_sha256_leaves_per_s": round(pure_raw),
        "pure_ratio": round(pure_seal / pure_raw, 3),
        **{k: round(v, 3) for k, v in proofs.items()},
        "aim": {"ratio": 0.3, "inclusion_proof_ms": 5.0},
    }


def _records(datas: list[bytes]) -> list[tuple[uuid.UUID, int, str, bytes, int]]:
    """Decode leaf_data back into records (so the pure run hashes exactly the same ones)."""
    out = []
    for data in datas:
        fields, at = [], 0
        while at < len(data):
            size = int.from_bytes(data[at : at + 4], "big")
            fields.append(data[at + 4 : at + 4 + size])
            at += 4 + size
        _, oid, version, topic, state, position = fields
        out.append((uuid.UUID(bytes=oid), int.from_bytes(version, "big"), topic.decode(), state,
                    int.from_bytes(position, "big")))  # fmt: skip
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.leaves, args.samples))))
