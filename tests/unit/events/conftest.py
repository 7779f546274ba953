"""Shared builders for the write-model stories."""

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from events import EventMeta, Household, PersonRecord
from events.validation import id_number_check_char

ADMIN = UUID(int=1)
MEMBER = UUID(int=2)
SUPERVISOR = UUID(int=3)
GRID_A = UUID(int=100)
GRID_B = UUID(int=101)
DAY = date(2024, 1, 1)


def meta(
    role: str = "grid_member", actor: UUID | None = MEMBER, device: str = "phone-1"
) -> EventMeta:
    return EventMeta(
        actor_id=actor,
        role=role,
        device_id=device,
        client_time=datetime(2024, 1, 1, 8, tzinfo=UTC),
        scope_unit_ids=(GRID_A,),
    )


def id_number(first17: str) -> str:
    """A checksum-valid ID number for the given first 17 digits."""
    return first17 + id_number_check_char(first17)


def person(
    name: str = "张三",
    relation: str = "户主",
    *,
    tags: tuple[str, ...] = (),
    birth: date | None = date(1970, 5, 1),
    idno: str | None = None,
    phone: str | None = "13812341234",
) -> PersonRecord:
    return PersonRecord(
        person_id=uuid4(),
        name=name,
        gender="male",
        birth_date=birth,
        id_number=idno,
        phone=phone,
        relation=relation,  # type: ignore[arg-type]  # tests pass invalid values on purpose
        tags=tags,
    )


def register(*persons: PersonRecord, number: str = "HH-0001") -> Household:
    return Household.register(
        household_no=number,
        grid_id=GRID_A,
        address="青山镇红星村3组12号",
        phone="13900001111",
        persons=persons or (person(),),
        effective_from=DAY,
        meta=meta(role="admin", actor=ADMIN),
    )


@pytest.fixture
def head() -> PersonRecord:
    return person("张三", "户主", idno=id_number("11010519700501001"))


@pytest.fixture
def spouse() -> PersonRecord:
    return person("李四", "配偶", phone=None)


@pytest.fixture
def household(head: PersonRecord, spouse: PersonRecord) -> Household:
    hh = register(head, spouse)
    hh.collect_events()
    return hh
