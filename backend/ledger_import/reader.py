"""Turn uploaded bytes into rows of cell values, whatever the file format."""

from __future__ import annotations

import codecs
import csv
import io
import warnings
from collections.abc import Iterator

import openpyxl

from backend.ledger_import.models import LedgerFormatError

Row = tuple[object, ...]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls / .et binary workbooks


def read_rows(data: bytes, *, filename: str) -> Iterator[Row]:
    """Yield every row of the first sheet, blank rows included, so positions are row numbers."""
    if data.startswith(_ZIP_MAGIC):
        return _xlsx_rows(data, filename)
    if data.startswith(_OLE_MAGIC):
        raise LedgerFormatError(f"{filename}: 不支持旧版 .xls，请另存为 .xlsx (legacy xls)")
    return _csv_rows(_decode(data, filename))


def _xlsx_rows(data: bytes, filename: str) -> Iterator[Row]:
    try:
        # Files from WPS and older Excel trigger harmless openpyxl style warnings.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on corrupt zips
        raise LedgerFormatError(f"{filename}: 无法读取 XLSX 文件 (unreadable xlsx)") from exc
    return _sheet_rows(workbook, filename)


def _sheet_rows(workbook: openpyxl.Workbook, filename: str) -> Iterator[Row]:
    try:
        if not workbook.worksheets:
            return
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    except Exception as exc:  # a corrupt sheet only shows while streaming it
        raise LedgerFormatError(f"{filename}: 无法读取 XLSX 文件 (unreadable xlsx)") from exc
    finally:
        workbook.close()


def _decode(data: bytes, filename: str) -> str:
    if b"\x00" in data and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise LedgerFormatError(f"{filename}: 不是表格文件 (not a spreadsheet)")
    for encoding in _candidate_encodings(data):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LedgerFormatError(f"{filename}: 无法识别文件编码 (unknown text encoding)")


def _candidate_encodings(data: bytes) -> tuple[str, ...]:
    if data.startswith(codecs.BOM_UTF8):
        return ("utf-8-sig",)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ("utf-16",)  # Excel's "Unicode text" export
    # Chinese Excel saves CSV in the ANSI code page (GBK); GB18030 is its superset.
    return ("utf-8", "gb18030")


def _csv_rows(text: str) -> Iterator[Row]:
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    try:
        yield from (tuple(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise LedgerFormatError(f"CSV 格式错误 (malformed csv): {exc}") from exc
