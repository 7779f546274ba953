"""Import an existing household ledger (一户一档) from XLSX or CSV into typed households.

Pure code: bytes in, msgspec Structs out. See docs/ledger-import.md for the file format.
"""

from backend.ledger_import.catalog import (
    RELATION_LABELS,
    TAG_CODES,
    TAG_LABELS,
    Gender,
    Relation,
)
from backend.ledger_import.columns import LEDGER_COLUMNS, LedgerColumn
from backend.ledger_import.idcard import check_char, has_valid_checksum, make_id_number
from backend.ledger_import.models import (
    LedgerFormatError,
    LedgerHousehold,
    LedgerPerson,
    ParsedLedger,
    RowError,
    build_household,
    content_hash,
)
from backend.ledger_import.parser import DEFAULT_MAX_ROWS, parse_ledger
from backend.ledger_import.writer import ledger_rows, write_ledger_csv, write_ledger_xlsx

__all__ = [
    "DEFAULT_MAX_ROWS",
    "LEDGER_COLUMNS",
    "RELATION_LABELS",
    "TAG_CODES",
    "TAG_LABELS",
    "Gender",
    "LedgerColumn",
    "LedgerFormatError",
    "LedgerHousehold",
    "LedgerPerson",
    "ParsedLedger",
    "Relation",
    "RowError",
    "build_household",
    "check_char",
    "content_hash",
    "has_valid_checksum",
    "ledger_rows",
    "make_id_number",
    "parse_ledger",
    "write_ledger_csv",
    "write_ledger_xlsx",
]
