"""Pull: the caller's buckets, paged from the sync feed (docs/sync-protocol.md §2).

Buckets are recomputed from the roster on every pull, so a reassignment shows at once as
``scope_changes``. The cursor is self-contained and HMAC-signed (the token secret): the
checkpoint of the current run (``t``), the common bucket position (``p``) with exceptions
(``x``, buckets still bootstrapping), whether the run is finished (``m``) and the hash of the
bucket set (``h``; the set itself is kept once in ``sync_scopes`` so the next pull can tell what
was removed). A run's pages are all cut at its checkpoint, each read in one repeatable-read
snapshot and only at log-position boundaries, so the pages are consistent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
import msgspec

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.http.sync_schemas import PullRequest, PullResponse, ScopeChanges, SyncOp
from backend.services.actor import Actor
from backend.services.sync_push import check_protocol
from backend.services.sync_rows import load_rows
from projections import sync_feed

__all__ = ["FEED_SOURCES", "SyncPullService"]

# The read models a page is assembled from: a page never goes beyond the slowest of them.
FEED_SOURCES = (
    "sync_feed", "household_files", "case_board", "visit_log", "reference_data", "sync_receipts",
)  # fmt: skip
_PAGE_BYTES = 900_000  # under the mini-program's 1 MB, with room for the envelope
_ENCODER = msgspec.json.Encoder()


class _State(msgspec.Struct, kw_only=True, omit_defaults=True):
    v: int = 1
    s: str
    d: str
    t: int = 0
    p: int = 0
    x: dict[str, int] = {}
    m: bool = False
    h: str = ""
    r: int = 0  # where the current run started (min bucket position)


@dataclass
class _Page:
    ops: list[bytes] = field(default_factory=list)
    last_seq: int = 0
    has_more: bool = False


class SyncPullService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.pool = container.pool
        self.secret = container.settings.token_secret

    async def pull(self, actor: Actor, request: PullRequest) -> bytes:
        """The page as the JSON of :class:`PullResponse` (rows are encoded once, not twice)."""
        check_protocol(request.protocol, request.device_id, actor)
        state = self._decode(request.cursor, actor)
        buckets = await self._buckets(actor)
        scope_hash = _scope_hash(buckets)
        if scope_hash == state.h:
            old: list[str] | None = buckets  # the usual pull: the scope did not change
        else:
            await self._remember(scope_hash, buckets)
            old = await self._scope(state.h) if state.h else None
        positions = _positions(state, buckets, old)
        async with (
            self.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            through = state.t if state.m else await _checkpoint(conn)
            reset = await _resets(conn, positions)
            start = state.r if state.m else min(positions.values(), default=through)
            page = await self._page(conn, actor, positions, through, request.limit)
            # A row changed again beyond the checkpoint is sent only in the next run, with
            # whatever change it had before: until then the phone is complete only up to
            # where this run started (so a write checkpoint is never claimed too early).
            ahead = await sync_feed.changed_after(conn, list(positions), through)
        state = _advance(state, positions, page, through, scope_hash)
        state.r = start
        envelope = PullResponse(
            ops=[], cursor=self._encode(state), has_more=page.has_more,
            projected_through=start if ahead else through, reset=reset or None,
            scope_changes=_changes(old, buckets),
        )  # fmt: skip
        head = msgspec.json.encode(envelope)
        assert head.startswith(b'{"ops":[]')
        return b'{"ops":[' + b",".join(page.ops) + b"]" + head[len(b'{"ops":[]') :]

    async def _page(
        self, conn: asyncpg.Connection, actor: Actor, positions: dict[str, int], through: int,
        limit: int,
    ) -> _Page:  # fmt: skip
        rows = await sync_feed.page_rows(
            conn, buckets=list(positions), positions=list(positions.values()), through=through,
            limit=limit,
        )  # fmt: skip
        page = _Page(has_more=len(rows) > limit)
        rows = _cut(rows, limit) if page.has_more else rows
        if page.has_more and rows[0]["seq"] == rows[-1]["seq"]:
            # One position wrote more rows than the limit: send all of them, never a part.
            rows = await sync_feed.rows_at(conn, positions, rows[0]["seq"])
        ids: dict[str, list[str]] = {}
        for r in rows:
            if r["op"] == "put":
                ids.setdefault(r["kind"], []).append(r["id"])
        data = await load_rows(conn, actor, ids, today=self.container.clock.today())
        ops, cut = _ops(rows, data)
        page.ops = [op for _, op in ops]
        page.has_more = page.has_more or cut
        page.last_seq = ops[-1][0] if ops else 0
        return page

    async def _buckets(self, actor: Actor) -> list[str]:
        units = await self.pool.fetch(
            "SELECT id::text FROM grid_units WHERE path @> ARRAY[$1]::uuid[] ORDER BY id",
            actor.scope_unit_id,
        )
        return [f"unit:{u['id']}" for u in units] + [f"user:{actor.staff_id}", "reference"]

    async def _remember(self, digest: str, buckets: list[str]) -> None:
        await self.pool.execute(
            "INSERT INTO sync_scopes (scope_hash, buckets) VALUES ($1, $2) "
            "ON CONFLICT (scope_hash) DO NOTHING",
            digest, buckets,
        )  # fmt: skip

    async def _scope(self, scope_hash: str) -> list[str] | None:
        found = await self.pool.fetchval(
            "SELECT buckets FROM sync_scopes WHERE scope_hash = $1", scope_hash
        )
        return None if found is None else list(found)

    def _encode(self, state: _State) -> str:
        body = base64.urlsafe_b64encode(msgspec.json.encode(state)).rstrip(b"=")
        mac = hmac.new(self.secret, b"sync-cursor:" + body, hashlib.sha256).digest()[:16]
        return (body + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()

    def _decode(self, cursor: str | None, actor: Actor) -> _State:
        fresh = _State(s=str(actor.staff_id), d=actor.device_id)
        if cursor is None:
            return fresh
        body, _, mac = cursor.encode().partition(b".")
        good = hmac.new(self.secret, b"sync-cursor:" + body, hashlib.sha256).digest()[:16]
        try:
            valid = hmac.compare_digest(base64.urlsafe_b64decode(mac + b"=="), good)
            state = msgspec.json.decode(base64.urlsafe_b64decode(body + b"=="), type=_State)
        except (ValueError, msgspec.DecodeError):
            valid, state = False, fresh
        if not valid or (state.s, state.d) != (fresh.s, fresh.d) or state.v != 1:
            raise ApiError(40063, "sync cursor invalid, tampered with, or not yours")
        return state


def _scope_hash(buckets: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(buckets)).encode()).hexdigest()[:32]


def _positions(state: _State, buckets: list[str], old: list[str] | None) -> dict[str, int]:
    """Each bucket's position: a bucket new to this cursor starts from nothing."""
    known = set(old or ())
    return {b: state.x.get(b, state.p) if b in known else 0 for b in buckets}


async def _checkpoint(conn: asyncpg.Connection) -> int:
    value = await conn.fetchval(
        "SELECT min(position) FROM projection_positions WHERE name = ANY($1::text[])",
        list(FEED_SOURCES),
    )
    return int(value or 0)


async def _resets(conn: asyncpg.Connection, positions: dict[str, int]) -> list[str]:
    """Buckets whose tombstones were compacted beyond the cursor restart from nothing."""
    behind = [b for b, p in positions.items() if p > 0]
    compacted = await sync_feed.compacted_through(conn, behind) if behind else {}
    reset = sorted(b for b in behind if positions[b] < compacted.get(b, 0))
    for b in reset:
        positions[b] = 0
    return reset


def _cut(rows: list[asyncpg.Record], limit: int) -> list[asyncpg.Record]:
    """Never end a page inside one log position (one event may touch several rows)."""
    kept = rows[:limit]
    if rows[limit]["seq"] != kept[-1]["seq"]:
        return kept
    whole = [r for r in kept if r["seq"] != kept[-1]["seq"]]
    return whole or [r for r in rows if r["seq"] == kept[-1]["seq"]]


def _ops(
    rows: list[asyncpg.Record], data: dict[tuple[str, str], bytes]
) -> tuple[list[tuple[int, bytes]], bool]:
    """Each op as JSON with its position, cut at the byte budget (at a position boundary);
    True if cut."""
    ops: list[tuple[int, bytes]] = []
    size, boundary = 0, 0
    heads: dict[tuple[str, str, bool], bytes] = {}
    for r in rows:
        body = data.get((r["kind"], r["id"])) if r["op"] == "put" else None
        # A put whose row is gone from its owner (deleted since) is sent as a remove.
        key = (r["bucket"], r["kind"], body is not None)
        head = heads.get(key)
        if head is None:
            head = heads[key] = _op_head(*key)
        encoded = head + _ENCODER.encode(r["id"])
        encoded += b"}" if body is None else b',"data":' + body + b"}"
        if ops and ops[-1][0] != r["seq"]:
            boundary = len(ops)
        size += len(encoded) + 1
        if size > _PAGE_BYTES and boundary:
            return ops[:boundary], True
        ops.append((r["seq"], encoded))
    return ops, False


def _op_head(bucket: str, kind: str, put: bool) -> bytes:
    """The JSON of a :class:`SyncOp` up to its id: the same bytes the struct encodes to, built
    once per bucket and kind rather than once per row (thousands of rows a bootstrap page)."""
    op = SyncOp(bucket=bucket, op="put" if put else "remove", kind=kind, id="")
    encoded = _ENCODER.encode(op)
    assert encoded.endswith(b',"id":""}')
    return encoded[: -len(b'""}')]


def _advance(
    state: _State, positions: dict[str, int], page: _Page, through: int, scope_hash: str
) -> _State:
    if not page.has_more:
        return _State(s=state.s, d=state.d, t=through, p=through, m=False, h=scope_hash)
    moved = {b: max(p, page.last_seq) for b, p in positions.items()}
    common = Counter(moved.values()).most_common(1)[0][0] if moved else 0
    exceptions = {b: p for b, p in moved.items() if p != common}
    return _State(s=state.s, d=state.d, t=through, p=common, x=exceptions, m=True, h=scope_hash)


def _changes(old: list[str] | None, buckets: list[str]) -> ScopeChanges | None:
    if old is None or set(old) == set(buckets):
        return None
    return ScopeChanges(
        added=sorted(set(buckets) - set(old)), removed=sorted(set(old) - set(buckets))
    )
