"""Turn household plans into ``LedgerHousehold`` values with names, IDs, phones and tags."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Final

from backend.demo.family import Member, plan_household
from backend.demo.identity import IdRegistry, PhoneBook
from backend.demo.models import DemoUnit
from backend.demo.names import NameMaker
from backend.demo.tags import household_tags
from backend.demo.units import is_community
from backend.ledger_import import LedgerHousehold, LedgerPerson, build_household

# Ages are counted on this day, not on today's date, so the output never depends on the clock.
REFERENCE_DATE: Final[date] = date(2026, 1, 1)


class HouseholdFactory:
    """Generates households grid by grid; row numbers continue across grids (header = row 1)."""

    def __init__(self, rng: random.Random, region: str) -> None:
        self._rng = rng
        self._names = NameMaker(rng)
        self.phones = PhoneBook(rng)
        self._ids = IdRegistry(rng, region)
        self._next_row = 2

    def grid_households(
        self, village: DemoUnit, grid: DemoUnit, count: int
    ) -> list[LedgerHousehold]:
        grid_number = int(grid.code[-3:])
        return [
            self._household(grid, f"{grid.code}-{n:04d}", _address(village, grid_number, n))
            for n in range(1, count + 1)
        ]

    def _household(self, grid: DemoUnit, household_no: str, address: str) -> LedgerHousehold:
        members = plan_household(self._rng)
        surnames = self._surnames(members)
        tags = household_tags(self._rng, members)
        persons = tuple(
            self._person(member, surname, tuple(member_tags))
            for member, surname, member_tags in zip(members, surnames, tags, strict=True)
        )
        return build_household(
            household_no=household_no,
            grid_code=grid.code,
            address=address,
            phone=self._household_phone(persons[0]),
            persons=persons,
        )

    def _surnames(self, members: list[Member]) -> list[str]:
        head = self._names.surname()
        spouse = self._names.surname()
        # Children take the father's surname: the spouse's when the head is a married woman.
        married_woman = members[0].gender == "female" and any(
            m.relation == "spouse" for m in members
        )
        children = spouse if married_woman else head
        return [self._surname_for(m, head, spouse, children) for m in members]

    def _surname_for(self, member: Member, head: str, spouse: str, children: str) -> str:
        if member.relation in ("head", "sibling"):
            return head
        if member.relation == "parent":  # the head's father shares it; the mother does not
            return head if member.gender == "male" else self._names.surname()
        if member.relation == "spouse":
            return spouse
        return children

    def _person(self, member: Member, surname: str, tags: tuple[str, ...]) -> LedgerPerson:
        birth = _birth_date(self._rng, member.age)
        row, self._next_row = self._next_row, self._next_row + 1
        return LedgerPerson(
            name=surname + self._names.given(member.gender),
            relation=member.relation,
            gender=member.gender,
            birth_date=birth,
            id_number=self._id_number(member, birth),
            phone=self._mobile(member.age),
            tags=tags,
            row_number=row,
        )

    def _id_number(self, member: Member, birth: date) -> str | None:
        # Newborns are often not yet registered; a few older records simply lack the number.
        missing = 0.3 if member.age == 0 else 0.01
        return None if self._rng.random() < missing else self._ids.issue(birth, member.gender)

    def _mobile(self, age: int) -> str | None:
        rate = (
            0.0
            if age < 14
            else 0.4
            if age < 18
            else 0.92
            if age <= 70
            else 0.55
            if age <= 80
            else 0.25
        )
        return self.phones.mobile() if self._rng.random() < rate else None

    def _household_phone(self, head: LedgerPerson) -> str | None:
        roll = self._rng.random()
        if roll < 0.6 and head.phone is not None:
            return head.phone
        return self.phones.landline() if roll > 0.85 else None


def _birth_date(rng: random.Random, age: int) -> date:
    first_day = date(REFERENCE_DATE.year - 1 - age, 1, 1)
    return first_day + timedelta(days=rng.randrange(365))


def _address(village: DemoUnit, grid_number: int, n: int) -> str:
    if is_community(village):
        building = (grid_number - 1) * 5 + 1 + (n - 1) // 18
        unit, flat = 1 + (n - 1) // 6 % 3, (n - 1) % 6
        return f"{village.name} {building} 幢 {unit} 单元 {flat // 2 + 1}0{flat % 2 + 1} 室"
    return f"{village.name} {grid_number} 组 {n} 号"
