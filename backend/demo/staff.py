"""Staff of the demo township: town office, one grid head per village, grid members, mediators."""

from __future__ import annotations

import random

from backend.demo.identity import PhoneBook
from backend.demo.models import DemoStaff, DemoUnit, StaffRole
from backend.demo.names import NameMaker
from backend.ledger_import import Gender

_EXTRA_GRID_MEMBERS = 6  # the busiest grids get a second member
_MEDIATOR_VILLAGES = 6  # 五老 mediators are volunteers; not every village has one on the books


class StaffFactory:
    def __init__(self, rng: random.Random, phones: PhoneBook) -> None:
        self._rng = rng
        self._names = NameMaker(rng)
        self._phones = phones

    def build(self, units: list[DemoUnit], busiest_grids: list[DemoUnit]) -> list[DemoStaff]:
        town = units[0]
        villages = [u for u in units if u.level == 2]
        grids = [u for u in units if u.level == 3]
        staff = [
            self._one("sup", "supervisor", town),
            self._one("adm", "admin", town),
            self._one("aud", "auditor", town),
        ]
        staff += [self._one("gh", "grid_head", v) for v in villages]
        staff += [self._one("gm", "grid_member", g) for g in grids]
        extra = busiest_grids[:_EXTRA_GRID_MEMBERS]
        staff += [self._one("gm", "grid_member", g, suffix="-2") for g in extra]
        staff += [self._one("med", "mediator", v) for v in villages[:_MEDIATOR_VILLAGES]]
        return staff

    def _one(self, prefix: str, role: StaffRole, scope: DemoUnit, suffix: str = "") -> DemoStaff:
        # Grid members are more often women; village cadres and mediators more often men.
        female_share = 0.6 if role == "grid_member" else 0.35
        gender: Gender = "female" if self._rng.random() < female_share else "male"
        return DemoStaff(
            key=f"{prefix}-{scope.code}{suffix}",
            name=self._names.full(gender),
            work_phone=self._phones.mobile(),
            role=role,
            scope_code=scope.code,
        )
