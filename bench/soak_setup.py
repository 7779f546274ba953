"""Untimed set-up of the soak: township, officers over it, an assessment scheme, a published
notice-board edition, and every phone's first (bootstrap) pull."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import httpx
from anyio import to_thread
from sync_common import Township, seed, wait_projected

from backend.bootstrap import Container
from backend.services.auth import TokenPair, auth_service
from events.meta import system_meta
from events.staff import Staff

__all__ = ["World", "build_world"]

OFFICERS = ("supervisor", "auditor", "admin")
SCHEME_INDICATORS = [
    {"indicator": "visits", "weight": 60, "full_at": 8, "zero_below": 0},
    {"indicator": "cases_reported", "weight": 40, "full_at": 2, "zero_below": 0},
]


class World:
    """What the load needs: ids, and a token pair per phone and per officer."""

    def __init__(self, town: Township, village: UUID, town_unit: UUID) -> None:
        self.town, self.village, self.town_unit = town, village, town_unit
        self.phones: list[TokenPair] = []
        self.officers: dict[str, TokenPair] = {}
        self.scheme = ""
        self.photos: list[str] = []  # uploaded during the load; the supervisor opens the latest

    def as_query_args(self) -> dict[str, Any]:
        return {"grids": self.town.grids, "members": self.town.members,
                "village": self.village, "scheme": self.scheme, "photos": self.photos}  # fmt: skip


async def _parent(container: Container, unit: UUID) -> UUID:
    parent = await container.pool.fetchval("SELECT parent_id FROM grid_units WHERE id = $1", unit)
    assert isinstance(parent, UUID), f"grid unit {unit} has no parent"
    return parent


async def _appoint_officers(container: Container, town_unit: UUID) -> dict[str, UUID]:
    staff = {
        role: Staff.appoint(
            name=f"基准{role}",
            work_phone="13800000000",
            role=role,
            scope_unit_id=town_unit,
            effective_from=date(2026, 1, 1),
            meta=system_meta("bench"),
        )
        for role in OFFICERS
    }
    await to_thread.run_sync(lambda: container.event_log.save(*staff.values()))
    await wait_projected(container)
    return {role: s.id for role, s in staff.items()}


async def build_world(container: Container, *, phones: int) -> World:
    town = await seed(container, grids=phones, households_per_grid=50)
    village = await _parent(container, town.grids[0])
    world = World(town, village, await _parent(container, village))
    auth = auth_service(container)
    for i, member in enumerate(town.members):
        world.phones.append(await auth.dev_login(member, f"soak-{i}"))
    for role, staff_id in (await _appoint_officers(container, world.town_unit)).items():
        world.officers[role] = await auth.dev_login(staff_id, f"soak-{role}")
    return world


def _headers(pair: TokenPair) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair.access_token}"}


async def _ok(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in statuses, f"{response.request.url}: {response.text[:300]}"
    return response.json()


async def prepare_http(client: httpx.AsyncClient, world: World) -> None:
    """Scheme and a published edition through the API, as an admin and a supervisor would."""
    admin, sup = _headers(world.officers["admin"]), _headers(world.officers["supervisor"])
    world.scheme = f"soak-{uuid4().hex[:8]}"
    body = {"code": world.scheme, "label": "浸泡考核", "effective_from": "2026-01-01",
            "indicators": SCHEME_INDICATORS}  # fmt: skip
    await _ok(await client.post("/v1/assessments/schemes", headers=admin, json=body), 201)
    editions = "/v1/notice-board/editions"
    draft = await _ok(
        await client.post(editions, headers=sup, json={"unit_id": str(world.village)}), 201
    )
    await _ok(await client.post(f"{editions}/{draft['id']}/approve", headers=admin), 200)
    await _ok(await client.post(f"{editions}/{draft['id']}/publish", headers=sup), 200)
