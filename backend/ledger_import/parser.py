"""``parse_ledger``: bytes of an uploaded 一户一档 sheet → typed households and row errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from backend.ledger_import.columns import LEDGER_COLUMNS, column_key, describe
from backend.ledger_import.fields import cell_text, error_sort_key
from backend.ledger_import.households import assemble
from backend.ledger_import.models import LedgerFormatError, ParsedLedger, RowError
from backend.ledger_import.reader import Row, read_rows
from backend.ledger_import.rows import RowDraft, parse_row

DEFAULT_MAX_ROWS = 50_000


def parse_ledger(
    data: bytes, *, filename: str, today: date, max_rows: int = DEFAULT_MAX_ROWS
) -> ParsedLedger:
    """Parse XLSX or CSV bytes; every row problem is reported, none stops the parse.

    Raises ``LedgerFormatError`` only when the file as a whole is unusable. ``today`` (the
    server clock's business date, never the machine's local date) bounds birth dates.
    """
    rows = _numbered(read_rows(data, filename=filename))
    columns = _header(rows, filename)
    drafts, errors = _parse_rows(_data_rows(rows, max_rows), columns, today)
    if not drafts:
        raise LedgerFormatError(f"{filename}: 表格没有数据行 (empty sheet)")
    households = assemble(drafts, errors)
    return ParsedLedger(
        households=households,
        errors=tuple(sorted(errors, key=error_sort_key)),
        row_count=len(drafts),
    )


def _parse_rows(
    rows: Iterator[tuple[int, Row]], columns: dict[str, int], today: date
) -> tuple[list[RowDraft], list[RowError]]:
    drafts: list[RowDraft] = []
    errors: list[RowError] = []
    for row_number, row in rows:
        cells = {key: row[i] if i < len(row) else None for key, i in columns.items()}
        draft, row_errors = parse_row(cells, row_number, today)
        drafts.append(draft)
        errors.extend(row_errors)
    return drafts, errors


def _numbered(rows: Iterator[Row]) -> Iterator[tuple[int, Row]]:
    """Spreadsheet row numbers (1-based), skipping fully blank rows."""
    for number, row in enumerate(rows, start=1):
        if any(cell_text(value) for value in row):
            yield number, row


def _header(rows: Iterator[tuple[int, Row]], filename: str) -> dict[str, int]:
    """Map column key → cell index from the first non-blank row."""
    first = next(rows, None)
    if first is None:
        raise LedgerFormatError(f"{filename}: 表格为空 (empty sheet)")
    columns: dict[str, int] = {}
    for index, value in enumerate(first[1]):
        key = column_key(cell_text(value))
        if key is not None and key in columns:
            raise LedgerFormatError(f"列「{describe(key)}」重复 (duplicate column)")
        if key is not None:
            columns[key] = index
    missing = [describe(c.key) for c in LEDGER_COLUMNS if c.required and c.key not in columns]
    if missing:
        raise LedgerFormatError(f"缺少必需列：{'、'.join(missing)} (missing required columns)")
    return columns


def _data_rows(rows: Iterator[tuple[int, Row]], max_rows: int) -> Iterator[tuple[int, Row]]:
    for count, numbered in enumerate(rows, start=1):
        if count > max_rows:
            raise LedgerFormatError(
                f"数据超过 {max_rows} 行，请拆分文件 (more than {max_rows} rows)"
            )
        yield numbered
