"""A small, fresh township per test module: two villages, three grids, one of each role.

Codes are random so modules never collide in the shared test database. Staff get real
sessions through the auth service (the same code the login endpoints use).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from anyio import to_thread

from backend.bootstrap import Container
from backend.services.auth import auth_service
from events.grid import GridUnit
from events.meta import system_meta
from events.staff import Staff

EPOCH = date(2026, 1, 1)


@dataclass
class World:
    town: UUID
    village_a: UUID
    village_b: UUID
    grid_a1: UUID
    grid_a2: UUID
    grid_b1: UUID
    codes: dict[str, str]
    staff: dict[str, UUID] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


_ROLES = {
    "admin": ("admin", "town"),
    "supervisor": ("supervisor", "town"),
    "auditor": ("auditor", "town"),
    "head_a": ("grid_head", "village_a"),
    "member_a1": ("grid_member", "grid_a1"),
    "member_b1": ("grid_member", "grid_b1"),
    "mediator_a": ("mediator", "village_a"),
}


def _codes(rng: random.Random) -> dict[str, str]:
    town = f"{rng.randrange(10**8, 10**9)}000"  # 9 digits + 000: 12-digit town code
    return {
        "town": town,
        "village_a": town[:9] + "201",
        "village_b": town[:9] + "202",
        "grid_a1": town[:9] + "201001",
        "grid_a2": town[:9] + "201002",
        "grid_b1": town[:9] + "202001",
    }


def _build(container: Container, codes: dict[str, str]) -> tuple[dict[str, Any], int]:
    meta = system_meta("tests")
    units: dict[str, Any] = {}
    for key, parent_key, level, name in (
        ("town", None, 1, "测试镇"),
        ("village_a", "town", 2, "甲村"),
        ("village_b", "town", 2, "乙村"),
        ("grid_a1", "village_a", 3, "甲村第一网格"),
        ("grid_a2", "village_a", 3, "甲村第二网格"),
        ("grid_b1", "village_b", 3, "乙村第一网格"),
    ):
        parent = units[parent_key] if parent_key else None
        units[key] = GridUnit.create(
            code=codes[key],
            name=name,
            level=level,
            parent_id=parent.id if parent else None,
            parent_level=parent.level if parent else None,
            parent_code=parent.code if parent else None,
            effective_from=EPOCH,
            meta=meta,
        )
    staff = [
        Staff.appoint(
            name=f"测试{key}",
            work_phone="13800000000",
            role=role,
            scope_unit_id=units[scope].id,
            effective_from=EPOCH,
            meta=meta,
        )
        for key, (role, scope) in _ROLES.items()
    ]
    recordings = container.event_log.save(*units.values(), *staff)
    units.update({f"staff:{k}": s for k, s in zip(_ROLES, staff, strict=True)})
    return units, int(recordings[-1].notification.id)


async def build_world(container: Container, *, seed: int | None = None) -> World:
    codes = _codes(random.Random(seed))
    units, position = await to_thread.run_sync(lambda: _build(container, codes))
    await container.runner.wait_for(position)
    world = World(
        town=units["town"].id,
        village_a=units["village_a"].id,
        village_b=units["village_b"].id,
        grid_a1=units["grid_a1"].id,
        grid_a2=units["grid_a2"].id,
        grid_b1=units["grid_b1"].id,
        codes=codes,
    )
    auth = auth_service(container)
    for key in _ROLES:
        staff_id = units[f"staff:{key}"].id
        world.staff[key] = staff_id
        pair = await auth.dev_login(staff_id, f"device-{key}")
        world.headers[key] = {"Authorization": f"Bearer {pair.access_token}"}
    return world
