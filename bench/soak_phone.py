"""A simulated phone of the soak (``soak.py``): its session, its outbox and its actions.

Each action is one or two requests; every request is recorded with its kind, latency and,
when the answer is not what the protocol promises, the problem.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any
from uuid import UUID, uuid4

import httpx
from soak_report import Recorder
from sync_common import now_iso

__all__ = ["PHONE_MIX", "Phone", "Session", "why"]

PHONE_MIX = (("pull", 40), ("push_visits", 30), ("push_retry", 10), ("case", 10), ("visit", 10))
PHOTO_BYTES = 60_000
VISIT_BATCH = 10
REFRESH_AFTER_S = 600.0


class Session:
    """One logged-in device: its token pair, refreshed like the SDK does."""

    def __init__(self, pair: Any, device: str) -> None:
        self.access, self.refresh_token = pair.access_token, pair.refresh_token
        self.device, self.issued = device, time.monotonic()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    async def fresh(self, client: httpx.AsyncClient, rec: Recorder) -> None:
        if time.monotonic() - self.issued < REFRESH_AFTER_S:
            return
        body = {"refresh_token": self.refresh_token, "device_id": self.device}
        began = time.perf_counter()
        r = await client.post("/v1/auth/refresh", json=body)
        rec.add("refresh", began, problem=None if r.status_code == 200 else why(r))
        if r.status_code == 200:
            pair = r.json()
            self.access, self.refresh_token = pair["access_token"], pair["refresh_token"]
            self.issued = time.monotonic()


def why(r: httpx.Response) -> str:
    return f"{r.request.method} {r.request.url.path} -> {r.status_code} {r.text[:200]}"


def photo(rng: random.Random) -> bytes:
    """A JPEG as the upload sniffs it (SOI, JFIF APP0, a comment of random bytes, EOI):
    random bytes make every photo a new object, as real photos are."""
    body = rng.randbytes(PHOTO_BYTES)
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    comment = b"\xff\xfe" + (len(body) + 2).to_bytes(2, "big") + body
    return b"\xff\xd8" + app0 + comment + b"\xff\xd9"


class Phone:
    def __init__(
        self, households: list[UUID], session: Session, *, seed: int, uploaded: list[str]
    ) -> None:
        self.households, self.session, self.uploaded = households, session, uploaded
        self.rng = random.Random(seed)
        self.cursor: str | None = None
        self.seq = 0
        self.last_batch: list[dict[str, Any]] = []

    def _event(self, kind: str, payload: dict[str, Any], media: list[Any]) -> dict[str, Any]:
        self.seq += 1
        return {"event_id": str(uuid4()), "device_seq": self.seq, "type": kind,
                "captured_at": now_iso(), "payload": payload, "media": media}  # fmt: skip

    def _visit(self, photos: list[str], media: list[Any]) -> dict[str, Any]:
        payload = {"household_id": str(self.rng.choice(self.households)), "purpose": "routine",
                   "method": "in_person", "visited_at": now_iso(), "photos": photos}  # fmt: skip
        return self._event("visit.recorded", payload, media)

    def _case(self, photos: list[str], media: list[Any]) -> dict[str, Any]:
        payload = {"category": "hazard", "title": "电线老化", "description": "楼道电线老化裸露",
                   "location": f"基准村{self.rng.randrange(100)}号", "photos": photos,
                   "household_id": str(self.rng.choice(self.households))}  # fmt: skip
        return self._event("case.reported", payload, media)

    async def pull(self, client: httpx.AsyncClient, rec: Recorder) -> None:
        while True:
            body: dict[str, Any] = {"protocol": 1, "device_id": self.session.device}
            if self.cursor:
                body["cursor"] = self.cursor
            began = time.perf_counter()
            r = await client.post("/v1/sync/pull", headers=self.session.headers(), json=body)
            rec.add("pull", began, problem=None if r.status_code == 200 else why(r))
            if r.status_code != 200:
                return
            page = r.json()
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return

    async def push(
        self, client: httpx.AsyncClient, rec: Recorder, kind: str, events: list[dict[str, Any]]
    ) -> None:
        body = {"protocol": 1, "device_id": self.session.device, "device_clock": now_iso(),
                "events": events}  # fmt: skip
        began = time.perf_counter()
        r = await client.post("/v1/sync/push", headers=self.session.headers(), json=body)
        expected = "duplicate" if kind == "push_retry" else "accepted"
        problem = None if r.status_code == 200 else why(r)
        if problem is None:
            odd = [x for x in r.json()["results"] if x["status"] != expected]
            problem = f"{len(odd)} items not {expected}: {odd[:2]}" if odd else None
        rec.add(kind, began, problem=problem)
        if kind != "push_retry":
            self.last_batch = events

    async def upload(self, client: httpx.AsyncClient, rec: Recorder) -> dict[str, Any]:
        data = photo(self.rng)
        sha = hashlib.sha256(data).hexdigest()
        began = time.perf_counter()
        r = await client.post(
            "/v1/media", headers=self.session.headers(),
            files={"file": ("wxfile://tmp_photo.jpg", data, "image/jpeg")}, data={"sha256": sha},
        )  # fmt: skip
        rec.add("upload", began, problem=None if r.status_code == 201 else why(r))
        self.uploaded.append(sha)
        return {"sha256": sha, "size": len(data), "mime": "image/jpeg"}

    async def act(self, client: httpx.AsyncClient, rec: Recorder) -> None:
        await self.session.fresh(client, rec)
        action = self.rng.choices([a for a, _ in PHONE_MIX], [w for _, w in PHONE_MIX])[0]
        if action == "pull":
            await self.pull(client, rec)
        elif action == "push_visits" or (action == "push_retry" and not self.last_batch):
            batch = [self._visit([], []) for _ in range(VISIT_BATCH)]
            await self.push(client, rec, "push_visits", batch)
        elif action == "push_retry":
            await self.push(client, rec, "push_retry", self.last_batch)
        else:
            ref = await self.upload(client, rec)
            make = self._case if action == "case" else self._visit
            await self.push(client, rec, f"push_{action}", [make([ref["sha256"]], [ref])])
