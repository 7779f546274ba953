"""One spreadsheet row → a draft person plus its household fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from backend.ledger_import import fields
from backend.ledger_import.catalog import Gender, Relation
from backend.ledger_import.fields import Issues
from backend.ledger_import.idcard import birth_date_of, gender_of
from backend.ledger_import.models import LedgerPerson, RowError


@dataclass(frozen=True, slots=True)
class RowDraft:
    """What a row says; ``person`` is None when the row itself has problems."""

    row_number: int
    household_no: str
    grid_code: str | None
    address: str
    household_phone: str | None
    relation: Relation | None
    id_number: str | None
    person: LedgerPerson | None


def parse_row(
    cells: Mapping[str, object], row_number: int, today: date
) -> tuple[RowDraft, list[RowError]]:
    issues = Issues(row_number)
    household_no = fields.required_text(
        cells.get("household_no"), "household_no", "户编号", 64, issues
    )
    grid_code = fields.grid_code(cells.get("grid_code"), issues)
    address = fields.optional_text(cells.get("address"), "address", "住址", 200, issues)
    phone = fields.household_phone(cells.get("household_phone"), issues)
    values = _person_fields(cells, today, issues)
    draft = RowDraft(
        row_number=row_number,
        household_no=household_no,
        grid_code=grid_code,
        address=address,
        household_phone=phone,
        relation=values.relation,
        id_number=values.id_number,
        person=None if issues.errors else _person(values, row_number),
    )
    return draft, issues.errors


class _PersonFields(NamedTuple):
    name: str
    relation: Relation | None
    gender: Gender
    birth_date: date | None
    id_number: str | None
    phone: str | None
    tags: tuple[str, ...]


def _person_fields(cells: Mapping[str, object], today: date, issues: Issues) -> _PersonFields:
    name = fields.required_text(cells.get("name"), "name", "姓名", 30, issues)
    relation = fields.relation(cells.get("relation"), issues)
    gender = fields.gender(cells.get("gender"), issues)
    birth = fields.birth_date(cells.get("birth_date"), today, issues)
    id_number = fields.id_number(cells.get("id_number"), today, issues)
    phone = fields.mobile(cells.get("phone"), "phone", issues)
    tags = fields.tags(cells.get("tags"), issues)
    gender_final, birth_final = _reconcile(id_number, gender, birth, issues)
    return _PersonFields(name, relation, gender_final, birth_final, id_number, phone, tags)


def _reconcile(
    id_number: str | None, gender: Gender | None, birth: date | None, issues: Issues
) -> tuple[Gender, date | None]:
    """Check gender and birth date against the ID number; fill them from it when blank."""
    if id_number is None:
        return gender or "unknown", birth
    id_gender, id_birth = gender_of(id_number), birth_date_of(id_number)
    if gender is not None and gender != id_gender:
        issues.add("gender", "性别与身份证号不符 (gender disagrees with id_number)")
    if birth is not None and birth != id_birth:
        issues.add("birth_date", "出生日期与身份证号不符 (birth_date disagrees with id_number)")
    return gender or id_gender, birth or id_birth


def _person(values: _PersonFields, row_number: int) -> LedgerPerson:
    assert values.relation is not None  # a missing relation is a row error: no person then
    return LedgerPerson(
        name=values.name,
        relation=values.relation,
        gender=values.gender,
        birth_date=values.birth_date,
        id_number=values.id_number,
        phone=values.phone,
        tags=values.tags,
        row_number=row_number,
    )
