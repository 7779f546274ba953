"""The demo township as plain data."""

from __future__ import annotations

from typing import Literal

import msgspec

from backend.ledger_import import LedgerHousehold

StaffRole = Literal["grid_member", "grid_head", "supervisor", "mediator", "auditor", "admin"]


class DemoUnit(msgspec.Struct, frozen=True, kw_only=True):
    """A node of the grid tree: level 1 town, 2 village/community, 3 grid."""

    code: str
    name: str
    level: int
    parent_code: str | None


class DemoStaff(msgspec.Struct, frozen=True, kw_only=True):
    key: str  # stable across runs, e.g. "gm-330782109201001"; seeding uses it as natural key
    name: str
    work_phone: str
    role: StaffRole
    scope_code: str


class DemoTownship(msgspec.Struct, frozen=True, kw_only=True):
    units: tuple[DemoUnit, ...]
    staff: tuple[DemoStaff, ...]
    households: tuple[LedgerHousehold, ...]
