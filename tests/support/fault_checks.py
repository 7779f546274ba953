"""The invariants of the fault-injection harness, checked once the run has settled.

Each check returns violations as readable lines naming the offending ids; an empty list means
the invariant holds. They read the event log and the read models straight from PostgreSQL (as
the superuser: these are the facts, not what an endpoint chooses to show).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

import psycopg

from projections import ALL_PROJECTIONS
from storage.media import original_key
from storage.objects import S3ObjectStore
from tests.support.cluster import Cluster
from tests.support.phone import APPLIED, Phone

__all__ = [
    "local_stores_match_fresh_pulls",
    "log_invariants",
    "no_internal_errors",
    "photos_present",
    "projections_match_rebuild",
]

_RECEIPT = "events.sync_receipt:SyncReceipt.Received"
_CREATES_OWN_ID = ("visit.recorded", "case.reported")  # aggregate id = the phone's event id
_MAX_LINES = 20

# Columns that are wall-clock bookkeeping of the fold, not data derived from events: a rebuild
# writes them at another moment, so they may differ. Nothing is excluded that an event decides.
# (Each entry states why; found by comparing dumps, see docs/fault-injection.md.)
EXCLUDED_COLUMNS: dict[str, frozenset[str]] = {}


def _log(cluster: Cluster) -> list[tuple[Any, int, str, dict[str, Any]]]:
    with psycopg.connect(cluster.superuser_url) as conn:
        return conn.execute(
            "SELECT originator_id, originator_version, topic, "
            "convert_from(state, 'UTF8')::jsonb FROM gridledger_events ORDER BY notification_id"
        ).fetchall()


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def log_invariants(cluster: Cluster, phones: list[Phone]) -> list[str]:
    """1. every event a phone believes accepted is in the log exactly once;
    2. no phone event is in the log twice (receipts by event id, effects by device + time)."""
    rows = _log(cluster)
    receipts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    effects: Counter[tuple[str, datetime | None, str]] = Counter()
    created: Counter[str] = Counter()
    for originator, version, topic, state in rows:
        if topic == _RECEIPT:
            receipts[state["event_id"]].append(state)
            continue
        if version == 1:
            created[str(originator)] += 1
        meta = state.get("meta") or {}
        if str(meta.get("device_id", "")).startswith("phone-"):
            effects[(meta["device_id"], _when(meta.get("client_time")), topic)] += 1
    violations = [
        f"event {eid} has {len(found)} receipts"
        for eid, found in receipts.items()
        if len(found) > 1
    ]
    violations += [f"effect {key} stored {n} times" for key, n in effects.items() if n > 1]
    by_capture = Counter((device, when) for device, when, _ in effects)
    for phone in phones:
        violations += _accepted_once(phone, receipts, created, by_capture)
    return violations[:_MAX_LINES]


def _accepted_once(
    phone: Phone,
    receipts: dict[str, list[dict[str, Any]]],
    created: Counter[str],
    by_capture: Counter[tuple[str, datetime | None]],
) -> list[str]:
    out = []
    for event_id in sorted(phone.believed_accepted()):
        event = phone.captured[event_id]
        found = receipts.get(event_id, [])
        if len(found) != 1 or not _applied(found[0]):
            out.append(f"{phone.name}: accepted {event_id} has receipts {found}")
        if event["type"] in _CREATES_OWN_ID and created[event_id] != 1:
            out.append(f"{phone.name}: {event['type']} {event_id} created {created[event_id]}x")
        if not by_capture[(phone.device_id, _when(event["captured_at"]))]:
            out.append(f"{phone.name}: accepted {event_id} ({event['type']}) left no event")
    unanswered = [e["event_id"] for e in phone.pending]
    if unanswered:
        out.append(f"{phone.name}: never answered for {unanswered}")
    return out


def _applied(receipt: dict[str, Any]) -> bool:
    """Accepted, or a household edit accepted with its collision recorded (40961): a re-send
    of either answers ``duplicate``."""
    status = receipt["status"]
    return status == "accepted" or (status == "conflict" and receipt["errcode"] == 40961)


async def local_stores_match_fresh_pulls(phones: list[Phone], url: str) -> list[str]:
    """4. a new device of the same member, pulled to the end, holds what the phone holds (and
    the phone's pulled data reflects its own writes: projected_through >= write_checkpoint)."""
    out: list[str] = []
    for phone in phones:
        if phone.projected_through < phone.write_checkpoint:
            out.append(
                f"{phone.name}: pulled data reflects position {phone.projected_through}, "
                f"short of its write checkpoint {phone.write_checkpoint}"
            )
        fresh = Phone(f"{phone.name}-fresh", phone.staff_id, url, seed=phone.seed + 1)
        fresh.device_id = f"{phone.device_id}-fresh"
        try:
            await fresh.login()
            await fresh.pull()
        finally:
            await fresh.close()
        mine, theirs = phone.snapshot(), fresh.snapshot()
        for key in sorted(mine.keys() | theirs.keys()):
            if mine.get(key) != theirs.get(key):
                out.append(f"{phone.name}: row {key} phone={mine.get(key)} fresh={theirs.get(key)}")
    return out[:_MAX_LINES]


def photos_present(cluster: Cluster, phones: list[Phone]) -> list[str]:
    """5. photos of events the server kept are stored (record + object) or queued on the phone."""
    settings = cluster.settings
    store = S3ObjectStore(
        cluster.s3.endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        bucket=settings.s3_bucket,
    )
    with psycopg.connect(cluster.superuser_url) as conn:
        recorded = {r[0] for r in conn.execute("SELECT sha256 FROM media_objects").fetchall()}
    out = []
    for phone in phones:
        queued = {job.sha256 for job in phone.photos}
        for event_id, result in phone.results.items():
            if result["status"] not in (*APPLIED, "conflict") or result.get("errcode") == 40960:
                continue
            for media in phone.captured[event_id]["media"]:
                sha = media["sha256"]
                stored = sha in recorded and store.exists(original_key(sha))
                if not stored and sha not in queued:
                    out.append(f"{phone.name}: photo {sha} of {event_id} neither stored nor queued")
    return out[:_MAX_LINES]


def no_internal_errors(phones: list[Phone]) -> list[str]:
    """An outage is answered 503 (retry later); a 500 is always a bug of ours."""
    seen: Counter[str] = Counter()
    for phone in phones:
        seen.update({k: n for k, n in phone.stats.items() if k.startswith("http_500")})
    return [f"server answered {key[5:]} {n} times" for key, n in sorted(seen.items())]


def dump_projections(cluster: Cluster) -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    with psycopg.connect(cluster.superuser_url) as conn:
        for make in ALL_PROJECTIONS:
            for table in make().tables:
                cursor = conn.execute(f'SELECT * FROM "{table}"')
                names = [d.name for d in cursor.description or ()]
                skip = EXCLUDED_COLUMNS.get(table, frozenset())
                tables[table] = sorted(
                    repr(tuple(v for n, v in zip(names, row, strict=True) if n not in skip))
                    for row in cursor.fetchall()
                )
    return tables


def projections_match_rebuild(cluster: Cluster) -> list[str]:
    """3. every read model equals a from-scratch rebuild (server stopped, as operators do)."""
    before = dump_projections(cluster)
    cluster.stop_api()
    cluster.pg.start()  # the server stopped the PostgreSQL it had adopted
    cluster.rebuild_projections()
    after = dump_projections(cluster)
    out = []
    for table in sorted(before):
        gone = sorted(set(before[table]) - set(after[table]))[:3]
        new = sorted(set(after[table]) - set(before[table]))[:3]
        if gone or new or len(before[table]) != len(after[table]):
            out.append(
                f"projection table {table}: {len(before[table])} rows live, "
                f"{len(after[table])} rebuilt; live only {gone}; rebuilt only {new}"
            )
    return out
