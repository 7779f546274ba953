"""Typed results of a ledger import."""

from __future__ import annotations

import hashlib
from datetime import date

import msgspec

from backend.ledger_import.catalog import Gender, Relation

# Bumped whenever the canonical form below changes, so old and new hashes never collide.
_HASH_DOMAIN = b"gridledger.ledger-household.v1\n"


class LedgerFormatError(Exception):
    """The file as a whole cannot be read; ``errmsg`` is shown to the admin as is."""

    def __init__(self, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errmsg = errmsg


class LedgerPerson(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    relation: Relation
    gender: Gender
    birth_date: date | None
    id_number: str | None
    phone: str | None
    tags: tuple[str, ...]
    row_number: int


class LedgerHousehold(msgspec.Struct, frozen=True, kw_only=True):
    household_no: str
    grid_code: str
    address: str
    phone: str | None
    persons: tuple[LedgerPerson, ...]
    first_row: int
    content_hash: str


class RowError(msgspec.Struct, frozen=True, kw_only=True):
    row_number: int
    column: str | None
    reason: str


class ParsedLedger(msgspec.Struct, frozen=True, kw_only=True):
    """``households`` holds only households whose every row is clean."""

    households: tuple[LedgerHousehold, ...]
    errors: tuple[RowError, ...]
    row_count: int

    @property
    def ok(self) -> bool:
        return not self.errors


class _CanonicalPerson(msgspec.Struct, frozen=True, array_like=True):
    name: str
    relation: str
    gender: str
    birth_date: date | None
    id_number: str | None
    phone: str | None
    tags: tuple[str, ...]


class _CanonicalHousehold(msgspec.Struct, frozen=True, array_like=True):
    household_no: str
    grid_code: str
    address: str
    phone: str | None
    persons: tuple[bytes, ...]


def _person_bytes(person: LedgerPerson) -> bytes:
    canonical = _CanonicalPerson(
        person.name,
        person.relation,
        person.gender,
        person.birth_date,
        person.id_number,
        person.phone,
        person.tags,
    )
    return msgspec.msgpack.encode(canonical)


def content_hash(
    *,
    household_no: str,
    grid_code: str,
    address: str,
    phone: str | None,
    persons: tuple[LedgerPerson, ...],
) -> str:
    """SHA-256 of the household's data without row numbers.

    Persons are sorted by their encoding: moving rows around in the sheet is not a change.
    """
    members = tuple(sorted(_person_bytes(p) for p in persons))
    canonical = _CanonicalHousehold(household_no, grid_code, address, phone, members)
    return hashlib.sha256(_HASH_DOMAIN + msgspec.msgpack.encode(canonical)).hexdigest()


def build_household(
    *,
    household_no: str,
    grid_code: str,
    address: str,
    phone: str | None,
    persons: tuple[LedgerPerson, ...],
) -> LedgerHousehold:
    """A household with ``first_row`` and ``content_hash`` derived from its persons."""
    digest = content_hash(
        household_no=household_no,
        grid_code=grid_code,
        address=address,
        phone=phone,
        persons=persons,
    )
    return LedgerHousehold(
        household_no=household_no,
        grid_code=grid_code,
        address=address,
        phone=phone,
        persons=persons,
        first_row=min((p.row_number for p in persons), default=0),
        content_hash=digest,
    )
