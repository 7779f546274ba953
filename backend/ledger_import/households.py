"""Checks that span rows: one head per household, consistent household fields, unique IDs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from backend.ledger_import.columns import COLUMNS_BY_KEY
from backend.ledger_import.models import LedgerHousehold, LedgerPerson, RowError, build_household
from backend.ledger_import.rows import RowDraft

# Household fields repeated on member rows: blank there is fine, a different value is not.
_SHARED_FIELDS = ("grid_code", "address", "household_phone")


def assemble(drafts: list[RowDraft], errors: list[RowError]) -> tuple[LedgerHousehold, ...]:
    """Add cross-row errors to ``errors`` and build every household whose rows are all clean."""
    groups: dict[str, list[RowDraft]] = defaultdict(list)
    for draft in drafts:
        if draft.household_no:
            groups[draft.household_no].append(draft)
    errors.extend(duplicate_ids(drafts))
    for group in groups.values():
        errors.extend(household_errors(group))
    bad_rows = {error.row_number for error in errors}
    return tuple(
        _build(group)
        for group in groups.values()
        if not any(d.row_number in bad_rows for d in group)
    )


def duplicate_ids(drafts: Iterable[RowDraft]) -> list[RowError]:
    rows_by_id: dict[str, list[int]] = defaultdict(list)
    for draft in drafts:
        if draft.id_number is not None:
            rows_by_id[draft.id_number].append(draft.row_number)
    return [
        _error(
            row,
            "id_number",
            f"身份证号重复，另见第 {_others(rows, row)} 行",
            f"duplicate id_number, also row {_others(rows, row)}",
        )
        for rows in rows_by_id.values()
        if len(rows) > 1
        for row in rows
    ]


def household_errors(group: list[RowDraft]) -> list[RowError]:
    heads = [d for d in group if d.relation == "head"]
    errors = _head_errors(group, heads)
    reference = heads[0] if heads else group[0]
    for key in _SHARED_FIELDS:
        errors.extend(_mismatches(group, reference, key))
    return errors


def _head_errors(group: list[RowDraft], heads: list[RowDraft]) -> list[RowError]:
    if len(heads) > 1:
        return _several_heads(heads)
    # An unreadable relation may well be the head: that row already carries its own error.
    if not heads and all(d.relation is not None for d in group):
        return [_error(group[0].row_number, "relation", "户内没有户主", "household has no head")]
    if heads and not heads[0].address:
        return [
            _error(
                heads[0].row_number, "address", "户主行须填写住址", "address required on head row"
            )
        ]
    return []


def _several_heads(heads: list[RowDraft]) -> list[RowError]:
    rows = [d.row_number for d in heads]
    return [
        _error(
            d.row_number,
            "relation",
            f"同户有多个户主，另见第 {_others(rows, d.row_number)} 行",
            f"more than one head, also row {_others(rows, d.row_number)}",
        )
        for d in heads
    ]


def _mismatches(group: list[RowDraft], reference: RowDraft, key: str) -> list[RowError]:
    expected = _first_value(reference, group, key)
    header = COLUMNS_BY_KEY[key].header
    return [
        _error(
            d.row_number,
            key,
            f"同户{header}与第 {expected[0]} 行不一致",
            f"{key} differs from row {expected[0]}",
        )
        for d in group
        if expected is not None and getattr(d, key) and getattr(d, key) != expected[1]
    ]


def _first_value(reference: RowDraft, group: list[RowDraft], key: str) -> tuple[int, str] | None:
    """The value the household agrees on: the head's, or else the first row that has one."""
    for draft in (reference, *group):
        value = getattr(draft, key)
        if value:
            return draft.row_number, str(value)
    return None


def _build(group: list[RowDraft]) -> LedgerHousehold:
    persons: list[LedgerPerson] = [d.person for d in group if d.person is not None]
    head = next(d for d in group if d.relation == "head")
    phone = _first_value(head, group, "household_phone")
    return build_household(
        household_no=head.household_no,
        grid_code=head.grid_code or "",
        address=head.address,
        phone=None if phone is None else phone[1],
        persons=tuple(persons),
    )


def _others(rows: list[int], row: int) -> str:
    return "、".join(str(r) for r in rows if r != row)


def _error(row: int, column: str, chinese: str, english: str) -> RowError:
    return RowError(row_number=row, column=column, reason=f"{chinese} ({english})")
