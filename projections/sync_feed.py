"""The sync feed: per-bucket op log that phones pull (docs/sync-protocol.md §2).

One row per (bucket, kind, id) holding the *latest* op for that row in that bucket and ``seq``,
the log position of the event that caused it. Positions follow commit order (the event store
inserts under a table lock), so a cursor of positions never skips a row that commits late. The
table is a compacted log: a pull from a cursor sends the rows whose ``seq`` is beyond it; a
pull from nothing sends the bucket's ``put`` rows, which *are* its snapshot. Row contents are
not copied here: they are read at pull time from their owners (household files, case board,
visit log, reference data, receipts) and masked for the caller there.

``remove`` rows are tombstones; :func:`compact` deletes those older than the horizon and
records, per bucket, how far it compacted, so a cursor older than that gets a reset.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from projections.engine import Recorded

__all__ = [
    "SyncFeedProjection",
    "changed_after",
    "compact",
    "compacted_through",
    "page_rows",
    "rows_at",
]

_PREFIXES = (
    "events.household:Household.",
    "events.case:Case.",
    "events.case_events:CaseRecord.",  # the case's later events are declared on its base
    "events.visit:Visit.Recorded",
    "events.reference:CaseCategory.",
    "events.point_rules:PointRule.",
    "events.reference_settings:SlaRuleSet.",
    "events.sync_receipt:SyncReceipt.",
)


class SyncFeedProjection:
    name = "sync_feed"
    tables: tuple[str, ...] = ("sync_feed", "sync_feed_homes", "sync_feed_compacted")
    ddl = """
    CREATE TABLE IF NOT EXISTS sync_feed (
        bucket text NOT NULL,
        kind text NOT NULL,
        id text NOT NULL,
        op text NOT NULL CHECK (op IN ('put', 'remove')),
        seq bigint NOT NULL,
        changed_at timestamptz NOT NULL,
        PRIMARY KEY (bucket, kind, id)
    );
    CREATE INDEX IF NOT EXISTS sync_feed_bucket_seq ON sync_feed (bucket, seq);
    CREATE INDEX IF NOT EXISTS sync_feed_tombstones ON sync_feed (changed_at) WHERE op = 'remove';
    -- The bucket a household or case lives in now (where its next change goes).
    CREATE TABLE IF NOT EXISTS sync_feed_homes (
        kind text NOT NULL,
        id text NOT NULL,
        bucket text NOT NULL,
        present boolean NOT NULL,
        PRIMARY KEY (kind, id)
    );
    CREATE TABLE IF NOT EXISTS sync_feed_compacted (
        bucket text PRIMARY KEY,
        through bigint NOT NULL
    );
    """

    def interested(self, topic: str) -> bool:
        return topic.startswith(_PREFIXES)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        # Folded in memory, written once per row (a compacted log keeps only the last op):
        # a catch-up of many visits to one grid is one row write, not one per visit.
        ops = _Ops()
        await ops.load_homes(conn, batch)
        for rec in batch:
            e = rec.event
            owner, _, kind = type(e).__qualname__.rpartition(".")
            fold = _FOLDS.get(owner)
            if fold is not None:
                ops.seq, ops.at = rec.position, e.timestamp
                await fold(ops, e, kind)
        await ops.flush(conn)


class _Ops:
    """The batch's row ops and homes, in memory until :meth:`flush`."""

    def __init__(self) -> None:
        self.seq, self.at = 0, datetime.min
        self.rows: dict[tuple[str, str, str], tuple[str, int, datetime]] = {}
        self.homes: dict[tuple[str, str], tuple[str, bool]] = {}
        self.dirty: set[tuple[str, str]] = set()

    async def load_homes(self, conn: asyncpg.Connection, batch: Sequence[Recorded]) -> None:
        keys = {(kind, str(r.event.originator_id)) for r in batch
                for kind in _HOMED.get(type(r.event).__qualname__.split(".")[0], ())}  # fmt: skip
        if not keys:
            return
        rows = await conn.fetch(
            "SELECT h.kind, h.id, h.bucket, h.present FROM sync_feed_homes h JOIN "
            "unnest($1::text[], $2::text[]) AS k(kind, id) ON h.kind = k.kind AND h.id = k.id",
            [k for k, _ in keys], [i for _, i in keys],
        )  # fmt: skip
        self.homes = {(r["kind"], r["id"]): (r["bucket"], r["present"]) for r in rows}

    async def put(self, bucket: str, kind: str, id: str) -> None:
        self.rows[(bucket, kind, id)] = ("put", self.seq, self.at)

    async def remove(self, bucket: str, kind: str, id: str) -> None:
        self.rows[(bucket, kind, id)] = ("remove", self.seq, self.at)

    async def home(self, kind: str, id: str) -> dict[str, Any] | None:
        found = self.homes.get((kind, id))
        return None if found is None else {"bucket": found[0], "present": found[1]}

    async def set_home(self, kind: str, id: str, bucket: str, *, present: bool) -> None:
        self.homes[(kind, id)] = (bucket, present)
        self.dirty.add((kind, id))

    async def flush(self, conn: asyncpg.Connection) -> None:
        await conn.executemany(
            "INSERT INTO sync_feed (bucket, kind, id, op, seq, changed_at) VALUES "
            "($1, $2, $3, $4, $5, $6) ON CONFLICT (bucket, kind, id) DO UPDATE SET op = $4, "
            "seq = $5, changed_at = $6",
            [(*key, *value) for key, value in self.rows.items()],
        )
        await conn.executemany(
            "INSERT INTO sync_feed_homes VALUES ($1, $2, $3, $4) ON CONFLICT (kind, id) "
            "DO UPDATE SET bucket = $3, present = $4",
            [(*key, *self.homes[key]) for key in self.dirty],
        )


def _unit(unit_id: Any) -> str:
    return f"unit:{unit_id}"


async def _household(ops: _Ops, e: Any, kind: str) -> None:
    hid = str(e.originator_id)
    if kind == "Registered":
        await ops.set_home("household", hid, _unit(e.grid_id), present=True)
        await ops.put(_unit(e.grid_id), "household", hid)
        return
    home = await ops.home("household", hid)
    if home is None:
        return
    if kind == "MovedToGrid":
        await ops.remove(home["bucket"], "household", hid)
        await ops.set_home("household", hid, _unit(e.grid_id), present=home["present"])
        if home["present"]:
            await ops.put(_unit(e.grid_id), "household", hid)
    elif kind == "Dissolved":
        await ops.set_home("household", hid, home["bucket"], present=False)
        await ops.remove(home["bucket"], "household", hid)
    elif home["present"]:
        await ops.put(home["bucket"], "household", hid)


async def _case(ops: _Ops, e: Any, kind: str) -> None:
    cid = str(e.originator_id)
    if kind == "Reported":
        await ops.set_home("case", cid, _unit(e.holder_unit_id), present=True)
        await ops.put(_unit(e.holder_unit_id), "case", cid)
        return
    home = await ops.home("case", cid)
    if home is None:
        return
    bucket, present = home["bucket"], home["present"]
    if kind == "ReportedUp":
        await ops.remove(bucket, "case", cid)
        bucket = _unit(e.to_unit_id)
    present = {"Closed": False, "Reopened": True}.get(kind, present)
    await ops.set_home("case", cid, bucket, present=present)
    if present:
        await ops.put(bucket, "case", cid)
    elif kind == "Closed":
        await ops.remove(bucket, "case", cid)  # phones hold open cases only
    await _assignee(ops, e, kind, cid, present=present)


async def _assignee(ops: _Ops, e: Any, kind: str, cid: str, *, present: bool) -> None:
    """An open case also lives in the bucket of the staff member it is dispatched to (their
    own tasks), wherever its unit is."""
    old = await ops.home("case_assignee", cid)
    before = old["bucket"] if old and old["present"] else None
    who = before
    if kind == "Dispatched":
        who = f"user:{e.assignee_staff_id}" if e.assignee_staff_id else None
    elif kind == "SignedFor" and e.meta.actor_id is not None:
        who = f"user:{e.meta.actor_id}"
    elif kind in ("Returned", "Reopened", "ReportedUp", "Closed"):
        who = None
    if before is not None and before != who:
        await ops.remove(before, "case", cid)
    if who is not None and present:
        await ops.put(who, "case", cid)
    if who != before:
        await ops.set_home("case_assignee", cid, who or "", present=who is not None)


async def _visit(ops: _Ops, e: Any, kind: str) -> None:
    await ops.put(_unit(e.grid_id), "visit_plan", str(e.grid_id))


async def _category(ops: _Ops, e: Any, kind: str) -> None:
    await ops.put("reference", "category", str(e.originator_id))


async def _point_rule(ops: _Ops, e: Any, kind: str) -> None:
    await ops.put("reference", "point_rule", str(e.originator_id))


async def _sla(ops: _Ops, e: Any, kind: str) -> None:
    await ops.put("reference", "sla_rule", "current")


async def _receipt(ops: _Ops, e: Any, kind: str) -> None:
    await ops.put(f"user:{e.staff_id}", "event_status", str(e.event_id))


# Rows whose buckets follow them (kept in sync_feed_homes).
_HOMED = {
    "Household": ("household",),
    "Case": ("case", "case_assignee"),
    "CaseRecord": ("case", "case_assignee"),
}
_FOLDS = {
    "Household": _household,
    "Case": _case,
    "CaseRecord": _case,
    "Visit": _visit,
    "CaseCategory": _category,
    "PointRule": _point_rule,
    "SlaRuleSet": _sla,
    "SyncReceipt": _receipt,
}


async def page_rows(
    conn: asyncpg.Connection,
    *,
    buckets: Sequence[str],
    positions: Sequence[int],
    through: int,
    limit: int,
) -> list[asyncpg.Record]:
    """Up to ``limit + 1`` rows beyond each bucket's position and up to ``through``, in log
    order; from position 0 only ``put`` rows (a bootstrap needs no tombstones)."""
    rows = await conn.fetch(
        "SELECT f.bucket, f.kind, f.id, f.op, f.seq FROM unnest($1::text[], $2::bigint[]) "
        "AS c(bucket, pos) JOIN sync_feed f ON f.bucket = c.bucket AND f.seq > c.pos "
        "AND f.seq <= $3 AND (c.pos > 0 OR f.op = 'put') "
        "ORDER BY f.seq, f.bucket, f.kind, f.id LIMIT $4",
        list(buckets), list(positions), through, limit + 1,
    )  # fmt: skip
    return list(rows)


async def rows_at(
    conn: asyncpg.Connection, positions: dict[str, int], seq: int
) -> list[asyncpg.Record]:
    """Every row one log position wrote in these buckets (a page must not split it)."""
    rows = await conn.fetch(
        "SELECT bucket, kind, id, op, seq FROM sync_feed WHERE bucket = ANY($1::text[]) "
        "AND seq = $2 ORDER BY bucket, kind, id",
        [b for b, p in positions.items() if p < seq], seq,
    )  # fmt: skip
    return [r for r in rows if positions[r["bucket"]] > 0 or r["op"] == "put"]


async def changed_after(conn: asyncpg.Connection, buckets: Sequence[str], position: int) -> bool:
    """Whether any of these buckets has a row whose last change lies beyond ``position``."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM unnest($1::text[]) AS b(bucket) JOIN LATERAL "
            "(SELECT 1 FROM sync_feed f WHERE f.bucket = b.bucket AND f.seq > $2 LIMIT 1) x "
            "ON true)",
            list(buckets),
            position,
        )
    )


async def compacted_through(conn: asyncpg.Connection, buckets: Sequence[str]) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT bucket, through FROM sync_feed_compacted WHERE bucket = ANY($1::text[])",
        list(buckets),
    )
    return {r["bucket"]: r["through"] for r in rows}


async def compact(pool: asyncpg.Pool, *, before: datetime) -> int:
    """Delete tombstones changed before ``before``; returns how many went."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "DELETE FROM sync_feed WHERE op = 'remove' AND changed_at < $1 RETURNING bucket, seq",
            before,
        )
        through: dict[str, int] = {}
        for r in rows:
            through[r["bucket"]] = max(through.get(r["bucket"], 0), r["seq"])
        await conn.executemany(
            "INSERT INTO sync_feed_compacted VALUES ($1, $2) ON CONFLICT (bucket) "
            "DO UPDATE SET through = greatest(sync_feed_compacted.through, $2)",
            list(through.items()),
        )
        return len(rows)
