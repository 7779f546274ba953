"""Write ledger sheets: sample files for tests, the demo township and template downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import openpyxl
from openpyxl.cell import WriteOnlyCell

from backend.ledger_import.catalog import GENDER_LABELS, RELATION_LABELS, TAG_LABELS
from backend.ledger_import.columns import COLUMN_KEYS, COLUMNS_BY_KEY
from backend.ledger_import.models import LedgerHousehold

RowSource = LedgerHousehold | Mapping[str, object]


def ledger_rows(households: Iterable[LedgerHousehold]) -> list[dict[str, object]]:
    """One row per person, household fields repeated, values spelled as an admin would."""
    return [
        {
            "household_no": household.household_no,
            "grid_code": household.grid_code,
            "address": household.address,
            "household_phone": household.phone,
            "name": person.name,
            "relation": RELATION_LABELS[person.relation],
            "gender": GENDER_LABELS[person.gender],
            "birth_date": person.birth_date,
            "id_number": person.id_number,
            "phone": person.phone,
            "tags": "、".join(TAG_LABELS[tag] for tag in person.tags),
        }
        for household in households
        for person in household.persons
    ]


def write_ledger_xlsx(
    rows: Iterable[RowSource],
    *,
    columns: Sequence[str] = COLUMN_KEYS,
    english_headers: bool = False,
) -> bytes:
    """An XLSX workbook; dates become real Excel date cells, everything else text."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("一户一档")
    sheet.append(_headers(columns, english_headers))
    for row in _flatten(rows):
        sheet.append([_xlsx_cell(sheet, row.get(key)) for key in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_ledger_csv(
    rows: Iterable[RowSource],
    *,
    columns: Sequence[str] = COLUMN_KEYS,
    english_headers: bool = False,
    encoding: str = "utf-8-sig",
) -> bytes:
    """A CSV file; the default UTF-8 BOM makes Excel open Chinese text correctly."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_headers(columns, english_headers))
    for row in _flatten(rows):
        writer.writerow([_csv_text(row.get(key)) for key in columns])
    return buffer.getvalue().encode(encoding)


def _flatten(rows: Iterable[RowSource]) -> Iterable[Mapping[str, object]]:
    for row in rows:
        if isinstance(row, LedgerHousehold):
            yield from ledger_rows([row])
        else:
            yield row


def _headers(columns: Sequence[str], english: bool) -> list[str]:
    return [
        key if english or key not in COLUMNS_BY_KEY else COLUMNS_BY_KEY[key].header
        for key in columns
    ]


def _xlsx_cell(sheet: object, value: object) -> object:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"
    elif isinstance(value, str):
        # Text starting with "=" would otherwise be stored as a formula (formula injection).
        cell.data_type = "s"
    return cell


def _csv_text(value: object) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)
