"""Exporting an evidence bundle for a case, a household or a period (issue 6 item 4).

The events go in exactly as stored, each with an inclusion proof against the newest signed
checkpoint, and the photos they reference as S3 holds them *now* — replaced bytes are exported
as found, so the offline verifier (storage/bundle.py) names the photo instead of the export
hiding it. Auditors only; every export is written to the access audit before the file leaves.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import asyncpg
from anyio import to_thread
from minio.error import S3Error

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services import access_audit
from backend.services.actor import Actor
from backend.services.audit_log import key_ring
from backend.services.scope import require_role
from events.business_date import day_after_start, day_start
from projections import grid_tree
from storage.bundle import BundleEvent, photo_refs, write_bundle
from storage.media import original_key
from storage.merkle import StoredRecord, assemble, inclusion_plan, plan_nodes
from storage.merkle_store import fetch_nodes

__all__ = ["MAX_EVENTS", "MAX_PHOTO_BYTES", "BundleRequest", "EvidenceBundles", "ExportedBundle"]

MAX_EVENTS = 20_000
MAX_DAYS = 366
MAX_PHOTO_BYTES = 512 * 1024 * 1024
AUDITOR_ROLES = ("auditor",)

_COLUMNS = (
    "e.originator_id, e.originator_version, e.topic, e.state, e.notification_id, l.leaf_index"
)
_SUBJECT_SQL = (
    f"SELECT {_COLUMNS} FROM gridledger_events e"
    " LEFT JOIN merkle_leaves l ON l.position = e.notification_id"
    " WHERE e.originator_id = $1 OR position(convert_to($2, 'UTF8') IN e.state) > 0"
    " ORDER BY e.notification_id LIMIT $3"
)
# Events carry their own time (eventsourcing's ``timestamp``, UTC) in the stored state.
_PERIOD_SQL = (
    f"SELECT {_COLUMNS} FROM gridledger_events e"
    " LEFT JOIN merkle_leaves l ON l.position = e.notification_id"
    " WHERE (convert_from(e.state, 'UTF8')::jsonb ->> 'timestamp')::timestamptz >= $1"
    " AND (convert_from(e.state, 'UTF8')::jsonb ->> 'timestamp')::timestamptz < $2"
    " ORDER BY e.notification_id LIMIT $3"
)


@dataclass(frozen=True, kw_only=True)
class BundleRequest:
    reason: str
    case_id: UUID | None = None
    household_id: UUID | None = None
    period_from: date | None = None
    period_to: date | None = None
    """Inclusive last day of the period."""


@dataclass(frozen=True, kw_only=True)
class ExportedBundle:
    filename: str
    content: bytes
    events: int
    photos: int
    tree_size: int


class EvidenceBundles:
    def __init__(self, container: Container) -> None:
        self.container = container

    async def export(
        self, actor: Actor, req: BundleRequest, *, request_id: str | None
    ) -> ExportedBundle:
        require_role(actor, *AUDITOR_ROLES)
        _check_request(req)
        kind, subject_id, rows = await self._select(actor, req)
        tree_size, note = await self._checkpoint(rows)
        events = await self._with_proofs(rows, tree_size)
        photos = await self._photos(events)
        subject = _subject(kind, subject_id, req, actor)
        complete = [UUID(subject_id)] if kind != "period" else []
        content = await to_thread.run_sync(
            lambda: _write(subject, note, self._verifier_keys(), events, photos, complete)
        )
        await access_audit.record(
            self.container.pool,
            actor=actor,
            action="evidence_bundle_export",
            subject_kind=kind,
            subject_id=subject_id,
            reason=req.reason,
            details={"events": len(events), "photos": len(photos), "tree_size": tree_size},
            request_id=request_id,
        )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return ExportedBundle(
            filename=f"evidence-{kind}-{subject_id[:36]}-{stamp}.zip",
            content=content,
            events=len(events),
            photos=sum(1 for _, data in photos if data is not None),
            tree_size=tree_size,
        )

    async def _select(self, actor: Actor, req: BundleRequest) -> tuple[str, str, list[Any]]:
        pool = self.container.pool
        if req.case_id is not None:
            await self._in_scope(actor, "case", req.case_id)
            rows = await pool.fetch(_SUBJECT_SQL, req.case_id, str(req.case_id), MAX_EVENTS + 1)
            return "case", str(req.case_id), _bounded(rows, "case", req.case_id)
        if req.household_id is not None:
            await self._in_scope(actor, "household", req.household_id)
            hid = req.household_id
            rows = await pool.fetch(_SUBJECT_SQL, hid, str(hid), MAX_EVENTS + 1)
            return "household", str(hid), _bounded(rows, "household", hid)
        if req.period_from is None or req.period_to is None:
            raise ApiError(40090, "give exactly one of case_id, household_id or period")
        # Business days (a day of Beijing, not of UTC).
        zone = self.container.clock.zone
        start, end = day_start(req.period_from, zone), day_after_start(req.period_to, zone)
        rows = await pool.fetch(_PERIOD_SQL, start, end, MAX_EVENTS + 1)
        period = f"{req.period_from.isoformat()}..{req.period_to.isoformat()}"
        return "period", period, _bounded(rows, "period", None)

    async def _in_scope(self, actor: Actor, kind: str, subject_id: UUID) -> None:
        sql = {
            "case": "SELECT holder_unit_id FROM case_board WHERE id = $1",
            "household": "SELECT grid_id FROM household_files WHERE id = $1",
        }[kind]
        unit = await self.container.pool.fetchval(sql, subject_id)
        if unit is None:
            raise ApiError(40400, f"no such {kind}", id=str(subject_id))
        if not await grid_tree.unit_in_scope(self.container.pool, unit, actor.scope_unit_id):
            raise ApiError(40301, f"{kind} outside your grid scope", id=str(subject_id))

    async def _checkpoint(self, rows: Sequence[asyncpg.Record]) -> tuple[int, str]:
        """The newest signed checkpoint; it must cover every selected event."""
        row = await self.container.pool.fetchrow(
            "SELECT tree_size, signed_note FROM log_checkpoints ORDER BY tree_size DESC LIMIT 1"
        )
        unsealed = [r["notification_id"] for r in rows if r["leaf_index"] is None]
        needed = max((r["leaf_index"] for r in rows if r["leaf_index"] is not None), default=-1)
        if row is None or unsealed or needed >= row["tree_size"]:
            first = unsealed[0] if unsealed else None
            raise ApiError(
                40990,
                "some of these events are not sealed into a signed checkpoint yet; retry shortly",
                first_unsealed_position=first,
                retry_after_seconds=5,
            )
        return int(row["tree_size"]), str(row["signed_note"])

    async def _with_proofs(self, rows: Sequence[asyncpg.Record], size: int) -> list[BundleEvent]:
        """Every event's inclusion proof at ``size``, from the sealed subtrees in one read."""
        plans = [inclusion_plan(r["leaf_index"], size) for r in rows]
        nodes = await fetch_nodes(self.container.pool, {n for p in plans for n in plan_nodes(p)})
        return [
            BundleEvent(record=_record(r), leaf_index=r["leaf_index"], proof=assemble(plan, nodes))
            for r, plan in zip(rows, plans, strict=True)
        ]

    async def _photos(self, events: Sequence[BundleEvent]) -> list[tuple[str, bytes | None]]:
        wanted = dict.fromkeys(sha for e in events for sha in photo_refs(e.record.state))
        objects, found, total = self.container.objects, [], 0
        for sha256 in wanted:
            data = await to_thread.run_sync(_get, objects, original_key(sha256))
            total += len(data or b"")
            if total > MAX_PHOTO_BYTES:
                raise ApiError(
                    41390, "the bundle's photos are too large; export a narrower subject"
                )
            found.append((sha256, data))
        return found

    def _verifier_keys(self) -> list[str]:
        return [v.vkey for v in key_ring(self.container).verifiers]


def _check_request(req: BundleRequest) -> None:
    chosen = [req.case_id, req.household_id, req.period_from or req.period_to]
    if sum(1 for c in chosen if c is not None) != 1:
        raise ApiError(40090, "give exactly one of case_id, household_id or period")
    if (req.period_from is None) != (req.period_to is None):
        raise ApiError(40090, "a period needs both from and to")
    if req.period_from and req.period_to and req.period_from > req.period_to:
        raise ApiError(40090, "the period ends before it starts")
    if req.period_from and req.period_to and (req.period_to - req.period_from).days > MAX_DAYS:
        raise ApiError(40090, f"a period spans at most {MAX_DAYS} days")
    if not req.reason.strip():
        raise ApiError(40091, "say why you export this evidence (reason)")


def _record(r: asyncpg.Record) -> StoredRecord:
    return StoredRecord(
        originator_id=r["originator_id"],
        originator_version=r["originator_version"],
        topic=r["topic"],
        state=bytes(r["state"]),
        position=r["notification_id"],
    )


def _bounded(rows: list[Any], kind: str, subject_id: UUID | None) -> list[Any]:
    if len(rows) > MAX_EVENTS:
        raise ApiError(41390, f"more than {MAX_EVENTS} events; export a narrower subject")
    if not rows:
        what = f"no events for this {kind}" if subject_id else "no events in this period"
        raise ApiError(40400, what, id=str(subject_id) if subject_id else None)
    return rows


def _get(objects: Any, key: str) -> bytes | None:
    try:
        data: bytes = objects.get(key)
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchObject"):
            return None
        raise
    return data


def _subject(kind: str, subject_id: str, req: BundleRequest, actor: Actor) -> dict[str, Any]:
    return {
        "kind": kind,
        "id": subject_id,
        "reason": req.reason,
        "exported_by": str(actor.staff_id),
        "exported_at": datetime.now(UTC).isoformat(),
    }


def _write(
    subject: dict[str, Any],
    note: str,
    keys: list[str],
    events: list[BundleEvent],
    photos: list[tuple[str, bytes | None]],
    complete: list[UUID],
) -> bytes:
    out = io.BytesIO()
    write_bundle(
        out,
        subject=subject,
        checkpoint_note=note,
        verifier_keys=keys,
        events=events,
        photos=photos,
        complete_records=complete,
    )
    return out.getvalue()
