"""A Python twin of the mobile-api/ SDK, for the fault-injection harness.

It mirrors what mobile-api/src does (and docs/sync-protocol.md asks of a phone):

- an outbox kept "on storage" (here in memory, the phone process is never killed): events in
  capture order with UUIDv7 ids and a device sequence, photo upload jobs captured with them;
- push in batches, each request retried with exponential backoff and full jitter while the
  failure is transient (no answer, 5xx, 408, 429), one refresh on an expired token; every
  per-item status is final for the outbox (outbox.js ``settled``);
- pull until ``has_more`` is false, page and cursor applied together, rows held by a set of
  buckets and deleted only when no bucket holds them (store.js); a refused cursor (40063)
  wipes the rows, never the outbox;
- photos uploaded only after their event was answered for; refused events drop theirs, a
  permanent 4xx is final, anything else is retried later (photos.js).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx

__all__ = ["Phone", "PhoneGaveUp", "uuid7"]

Json = dict[str, Any]
PROTOCOL = 1
MAX_BATCH = 20  # the SDK's is 200; smaller batches make more exchanges for the proxy to break
APPLIED = ("accepted", "duplicate")
CURSOR_INVALID = 40063
TOKEN_EXPIRED = 40103


class NetworkError(Exception):
    """No answer (connection refused, reset, closed, timed out)."""


class ApiFailure(Exception):
    def __init__(self, status: int, body: Json) -> None:
        super().__init__(f"{status} {body.get('errcode')} {body.get('errmsg')}")
        self.status, self.body = status, body
        self.errcode = body.get("errcode")

    @property
    def retryable(self) -> bool:
        return self.status >= 500 or self.status in (408, 429)


class PhoneGaveUp(Exception):
    """The deadline passed with work still queued."""


def uuid7(rng: random.Random, now_ms: int) -> UUID:
    """48 bits of Unix milliseconds, version 7, variant 10, 74 random bits (uuid7.js)."""
    value = (now_ms & (2**48 - 1)) << 80 | rng.getrandbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return UUID(int=value)


@dataclass
class Backoff:
    base_s: float = 0.05
    cap_s: float = 2.0
    attempts: int = 6

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap_s, self.base_s * 2**attempt))


@dataclass
class Row:
    data: Json
    buckets: set[str] = field(default_factory=set)


@dataclass
class PhotoJob:
    sha256: str
    data: bytes
    event_id: str
    attempts: int = 0
    next_at: float = 0.0


@dataclass
class Phone:
    name: str
    staff_id: UUID
    base_url: str
    seed: int
    device_id: str = ""
    backoff: Backoff = field(default_factory=Backoff)
    pending: list[Json] = field(default_factory=list)
    photos: list[PhotoJob] = field(default_factory=list)
    photos_failed: list[tuple[str, Any]] = field(default_factory=list)
    photos_uploaded: set[str] = field(default_factory=set)
    results: dict[str, Json] = field(default_factory=dict)  # event id -> last answer
    captured: dict[str, Json] = field(default_factory=dict)  # event id -> wire event
    rows: dict[tuple[str, str], Row] = field(default_factory=dict)
    cursor: str | None = None
    projected_through: int = 0
    write_checkpoint: int = 0
    stats: Counter[str] = field(default_factory=Counter)
    session: Json = field(default_factory=dict)
    _next_seq: int = 1
    _last_ms: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.device_id = self.device_id or f"phone-{self.name}"
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=30.0)

    async def close(self) -> None:
        await self.http.aclose()

    # -- the wire -------------------------------------------------------------------------

    async def _raw(self, method: str, path: str, **kwargs: Any) -> Json:
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise NetworkError(str(error)) from None
        body = _json(response)
        if 200 <= response.status_code < 300:
            return body
        if response.status_code >= 500:
            self.stats[f"http_{response.status_code}_{body.get('errcode')}_{path}"] += 1
        raise ApiFailure(response.status_code, body)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Json:
        try:
            return await self._raw(method, path, headers=self._auth(), **kwargs)
        except ApiFailure as failure:
            if failure.errcode != TOKEN_EXPIRED:
                raise
        await self._refresh()
        return await self._raw(method, path, headers=self._auth(), **kwargs)

    async def _retrying(self, method: str, path: str, **kwargs: Any) -> Json:
        for attempt in range(self.backoff.attempts):
            try:
                return await self._call(method, path, **kwargs)
            except (NetworkError, ApiFailure) as error:
                final = isinstance(error, ApiFailure) and not error.retryable
                if final or attempt + 1 >= self.backoff.attempts:
                    raise
                self.stats["retries"] += 1
                await asyncio.sleep(self.backoff.delay(attempt, self.rng))
        raise AssertionError("unreachable")

    def _auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.session['access_token']}"}

    async def login(self) -> None:
        """Development login (embedded servers), retried like any other call."""
        body = {"staff_id": str(self.staff_id), "device_id": self.device_id}
        for attempt in range(50):
            try:
                self.session = await self._raw("POST", "/v1/auth/dev-login", json=body)
                return
            except (NetworkError, ApiFailure) as error:
                if isinstance(error, ApiFailure) and not error.retryable:
                    raise
                self.stats["retries"] += 1
                await asyncio.sleep(self.backoff.delay(min(attempt, 5), self.rng))
        raise PhoneGaveUp(f"{self.name}: could not log in")

    async def _refresh(self) -> None:
        body = {"refresh_token": self.session["refresh_token"], "device_id": self.device_id}
        self.session = await self._raw("POST", "/v1/auth/refresh", json=body)

    # -- capture --------------------------------------------------------------------------

    def capture(
        self,
        type_: str,
        payload: Json,
        *,
        base_version: int | None = None,
        photos: tuple[bytes, ...] = (),
    ) -> Json:
        """Put an event in the outbox (offline); its photos become upload jobs."""
        now_ms = max(int(time.time() * 1000), self._last_ms + 1)  # distinct capture times
        self._last_ms = now_ms
        event_id = str(uuid7(self.rng, now_ms))
        media = [{"sha256": _sha(p), "size": len(p), "mime": "image/jpeg"} for p in photos]
        entry: Json = {
            "event_id": event_id,
            "device_seq": self._next_seq,
            "type": type_,
            "captured_at": datetime.fromtimestamp(now_ms / 1000, UTC).isoformat(),
            "payload": payload,
            "media": media,
        }
        if base_version is not None:
            entry["base_version"] = base_version
        self._next_seq += 1
        self.pending.append(entry)
        self.captured[event_id] = entry
        queued = {job.sha256 for job in self.photos}
        self.photos += [PhotoJob(_sha(p), p, event_id) for p in photos if _sha(p) not in queued]
        return entry

    # -- push -----------------------------------------------------------------------------

    async def push(self) -> None:
        while self.pending:
            batch = self.pending[:MAX_BATCH]
            body = {
                "protocol": PROTOCOL,
                "device_id": self.device_id,
                "device_clock": datetime.now(UTC).isoformat(),
                "events": batch,
            }
            self.stats["events_sent"] += len(batch)
            reply = await self._retrying("POST", "/v1/sync/push", json=body)
            if not self._settle(reply):
                break  # the server answered for none: do not spin

    def _settle(self, reply: Json) -> int:
        answered = {r["event_id"]: r for r in reply["results"]}
        self.pending = [e for e in self.pending if e["event_id"] not in answered]
        for event_id, result in answered.items():
            self.results[event_id] = result
            self.stats[f"status_{result['status']}"] += 1
        refused = {i for i, r in answered.items() if _refused(r)}
        self.photos = [job for job in self.photos if job.event_id not in refused]
        self.write_checkpoint = max(self.write_checkpoint, int(reply["write_checkpoint"]))
        return len(answered)

    def believed_accepted(self) -> set[str]:
        return {i for i, r in self.results.items() if r["status"] in APPLIED}

    # -- pull -----------------------------------------------------------------------------

    async def pull(self) -> None:
        restarted = False
        while True:
            body: Json = {"protocol": PROTOCOL, "device_id": self.device_id, "limit": 200}
            if self.cursor:
                body["cursor"] = self.cursor
            try:
                page = await self._retrying("POST", "/v1/sync/pull", json=body)
            except ApiFailure as failure:
                if restarted or failure.errcode != CURSOR_INVALID:
                    raise
                restarted = True  # start afresh; the outbox stays
                self.rows, self.cursor, self.projected_through = {}, None, 0
                continue
            self._apply(page)
            if not page["has_more"]:
                return

    def _apply(self, page: Json) -> None:
        """Resets and removed buckets first (they describe the state before the ops)."""
        removed = (page.get("scope_changes") or {}).get("removed", [])
        for bucket in [*(page.get("reset") or []), *removed]:
            for key in [k for k, row in self.rows.items() if bucket in row.buckets]:
                self._release(bucket, key)
        for op in page["ops"]:
            key = (op["kind"], op["id"])
            if op["op"] == "put":
                self.rows.setdefault(key, Row(op["data"])).data = op["data"]
                self.rows[key].buckets.add(op["bucket"])
            elif key in self.rows:
                self._release(op["bucket"], key)
        self.cursor = page["cursor"]
        self.projected_through = max(self.projected_through, int(page["projected_through"]))
        self.stats["pages"] += 1

    def _release(self, bucket: str, key: tuple[str, str]) -> None:
        row = self.rows[key]
        row.buckets.discard(bucket)
        if not row.buckets:
            del self.rows[key]

    def snapshot(self) -> dict[tuple[str, str], tuple[tuple[str, ...], Json]]:
        return {k: (tuple(sorted(r.buckets)), r.data) for k, r in self.rows.items()}

    def rows_of(self, kind: str) -> list[Json]:
        return [row.data for (k, _), row in self.rows.items() if k == kind]

    # -- photos ---------------------------------------------------------------------------

    async def upload_photos(self) -> None:
        waiting = {e["event_id"] for e in self.pending}
        now = time.monotonic()
        for job in [j for j in self.photos if j.event_id not in waiting and j.next_at <= now]:
            outcome = await self._upload(job)
            if outcome == "retry":
                job.attempts += 1
                job.next_at = time.monotonic() + self.backoff.delay(job.attempts, self.rng)
                self.stats["photo_retries"] += 1
                return  # probably offline: the rest next time
            self.photos.remove(job)
            if outcome == "uploaded":
                self.photos_uploaded.add(job.sha256)
                self.stats["photos_uploaded"] += 1

    async def _upload(self, job: PhotoJob) -> str:
        files = {"file": ("wxfile://tmp.jpg", job.data, "image/jpeg")}
        try:
            await self._call("POST", "/v1/media", files=files, data={"sha256": job.sha256})
        except NetworkError:
            return "retry"
        except ApiFailure as failure:
            if failure.retryable or failure.status == 401:
                return "retry"
            self.photos_failed.append((job.sha256, failure.body))
            return "failed"
        return "uploaded"

    # -- the loop a phone runs when it has signal -----------------------------------------

    @property
    def done(self) -> bool:
        return not self.pending and not self.photos

    async def sync_until_done(self, *, deadline: float) -> None:
        """push, pull, upload photos; again after a backoff until nothing is queued."""
        attempt = 0
        while True:
            try:
                await self.push()
                await self.pull()
                await self.upload_photos()
            except (NetworkError, ApiFailure) as error:
                if isinstance(error, ApiFailure) and not error.retryable:
                    raise
                self.stats["sync_failures"] += 1
            if self.done:
                return
            if time.monotonic() > deadline:
                raise PhoneGaveUp(f"{self.name}: {len(self.pending)} events, "
                                  f"{len(self.photos)} photos still queued")  # fmt: skip
            attempt = min(attempt + 1, 5)
            await asyncio.sleep(self.backoff.delay(attempt, self.rng))


def _json(response: httpx.Response) -> Json:
    try:
        body = response.json()
    except ValueError:
        return {"errmsg": response.text[:200]}
    return body if isinstance(body, dict) else {"body": body}


def _refused(result: Json) -> bool:
    return result["status"] == "rejected" or (
        result["status"] == "conflict" and result.get("errcode") == 40960
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
