"""Exports of lists to CSV or XLSX, masked for lists and audited (privacy rules 3, 4 and 6).

One step: the request names what to export, its filters, the format and *why*; the answer is
the file. Nothing is stored but the audit row (who, role, scope, what, filters, why, row count,
when, and the file's SHA-256), written before the file leaves: an export that cannot be
audited is not handed out. A retry is a second export and a second audit row, as it should be:
the same file went out twice.

Rows come from the same scoped services the screens use, so an export never shows more than
the caller could page through; households are exported with the stricter list profile
(masked name, address and phone, never person tags). Cell text that a spreadsheet would run
as a formula (``=``, ``+``, ``-``, ``@``) is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

import msgspec
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.case_queries import BoardQuery, CaseBoardService
from backend.services.households import HouseholdService
from backend.services.scope import require_role
from backend.services.supervisor_queries import SupervisorQueryService, WindowQuery
from events.privacy import REVIEW_ROLES, mask_address, mask_name, mask_phone

__all__ = ["AUDIT_READERS", "EXPORTERS", "ExportFile", "ExportRequest", "ExportService"]

EXPORTERS = ("grid_head", "supervisor", "admin", "auditor")
AUDIT_READERS = ("admin", "auditor")
ExportWhat = Literal["households", "cases", "grid_coverage", "member_ranking"]
ExportFormat = Literal["csv", "xlsx"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Row = list[Any]


class _Filters(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class HouseholdFilters(_Filters):
    grid_id: UUID | None = None
    status: Literal["active", "dissolved"] | None = None
    q: str | None = None


class CaseFilters(_Filters):
    state: str | None = None
    category: str | None = None
    level: int | None = None
    overdue: bool | None = None
    escalated: bool | None = None
    holder: UUID | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None


class WindowFilters(_Filters):
    as_of: date | None = None
    period: Literal["week", "month", "quarter"] = "quarter"
    unit_id: UUID | None = None
    level: int = 3
    by: Literal["coverage", "on_time_rate"] = "coverage"


_FILTERS: dict[str, type[_Filters]] = {
    "households": HouseholdFilters,
    "cases": CaseFilters,
    "grid_coverage": WindowFilters,
    "member_ranking": WindowFilters,
}


@dataclass(frozen=True, kw_only=True)
class ExportRequest:
    what: ExportWhat
    format: ExportFormat
    filters: dict[str, Any]
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class ExportFile:
    export_id: UUID
    filename: str
    media_type: str
    content: bytes
    rows: int


def _filters(what: str, raw: dict[str, Any]) -> Any:
    try:
        return msgspec.convert(raw, _FILTERS[what])
    except msgspec.ValidationError as error:
        raise ApiError(40072, f"filters for {what}: {error}", what=what) from None


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ApiError(40071, "an export needs a reason (why these rows leave the system)")
    return text


class ExportService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.pool = container.pool
        self.max_rows = container.settings.max_export_rows

    async def export(self, actor: Actor, request: ExportRequest) -> ExportFile:
        require_role(actor, *EXPORTERS)
        reason = _reason(request.reason)
        filters = _filters(request.what, request.filters)
        header, rows = await self._rows(actor, request.what, filters)
        if len(rows) > self.max_rows:
            raise ApiError(41370, "too many rows for one export; narrow the filters",
                           limit=self.max_rows)  # fmt: skip
        content = _xlsx(header, rows) if request.format == "xlsx" else _csv(header, rows)
        export_id = uuid4()
        await self._audit(actor, export_id, request, filters, reason, len(rows), content)
        return ExportFile(
            export_id=export_id, filename=f"{request.what}-{export_id.hex[:8]}.{request.format}",
            media_type=XLSX if request.format == "xlsx" else "text/csv", content=content,
            rows=len(rows),
        )  # fmt: skip

    async def _rows(self, actor: Actor, what: str, f: Any) -> tuple[Row, list[Row]]:
        if what == "households":
            return await self._households(actor, f)
        if what == "cases":
            return await self._cases(actor, f)
        window = WindowQuery(as_of=f.as_of, period=f.period, unit_id=f.unit_id, level=f.level)
        queries = SupervisorQueryService(self.container)
        if what == "grid_coverage":
            ranked = await queries.rank_grids(actor, window, f.by)
            keys = ["rank", "code", "name", "households", "visited", "coverage",
                    "cases_closed", "closed_on_time", "on_time_rate"]  # fmt: skip
        else:
            ranked = await queries.rank_members(actor, window, f.by)
            keys = ["rank", "name", "scope_code", "scope_name", "households", "visited",
                    "coverage", "cases_closed", "closed_on_time", "on_time_rate"]  # fmt: skip
        return keys, [[r[k] for k in keys] for r in ranked.rows]

    async def _households(self, actor: Actor, f: HouseholdFilters) -> tuple[Row, list[Row]]:
        _, docs = await HouseholdService(self.container).list(
            actor, grid_id=f.grid_id, status=f.status, tag=None, q=f.q,
            limit=self.max_rows + 1, offset=0,
        )  # fmt: skip
        header = ["household_no", "grid_id", "status", "head", "persons", "address", "phone"]
        review = actor.role in REVIEW_ROLES
        return header, [_household_row(d, review=review) for d in docs]

    async def _cases(self, actor: Actor, f: CaseFilters) -> tuple[Row, list[Row]]:
        query = BoardQuery(
            state=f.state, category=f.category, level=f.level, overdue=f.overdue,
            escalated=f.escalated, holder=f.holder, reported_from=f.reported_from,
            reported_to=f.reported_to,
        )  # fmt: skip
        _, docs = await CaseBoardService(self.container).board(
            actor, query, limit=self.max_rows + 1, offset=0
        )
        keys = ["id", "category", "title", "state", "level", "holder_unit_id",
                "assignee_staff_id", "reported_at", "closed_at", "deadline",
                "deadline_provisional", "overdue", "escalated"]  # fmt: skip
        return keys, [[d.get(k) for k in keys] for d in docs]

    async def _audit(
        self, actor: Actor, export_id: UUID, request: ExportRequest, filters: Any,
        reason: str, rows: int, content: bytes,
    ) -> None:  # fmt: skip
        await self.pool.execute(
            "INSERT INTO export_audit (id, staff_id, role, scope_unit_id, what, format, filters, "
            "reason, row_count, file_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, "
            "$10)",
            export_id, actor.staff_id, actor.role, actor.scope_unit_id, request.what,
            request.format, msgspec.json.encode(filters).decode(), reason, rows,
            hashlib.sha256(content).hexdigest(),
        )  # fmt: skip

    async def audit_log(
        self, actor: Actor, *, staff_id: UUID | None, what: str | None, limit: int, offset: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """Exports made by staff whose scope (at export time) lies in the caller's subtree."""
        require_role(actor, *AUDIT_READERS)
        where = (
            "FROM export_audit x JOIN grid_units u ON u.id = x.scope_unit_id "
            "LEFT JOIN staff s ON s.id = x.staff_id WHERE u.path @> ARRAY[$1]::uuid[] "
            "AND ($2::uuid IS NULL OR x.staff_id = $2) AND ($3::text IS NULL OR x.what = $3)"
        )
        args = (actor.scope_unit_id, staff_id, what)
        total = await self.pool.fetchval(f"SELECT count(*) {where}", *args)
        rows = await self.pool.fetch(
            f"SELECT x.*, s.name AS staff_name {where} ORDER BY x.at DESC, x.id "
            "LIMIT $4 OFFSET $5", *args, limit, offset,
        )  # fmt: skip
        return int(total), [{**dict(r), "filters": json.loads(r["filters"])} for r in rows]


def _household_row(doc: dict[str, Any], *, review: bool) -> Row:
    """One row of the list profile from a file already masked for the exporter's role: review
    roles got name and address masked, field roles in full. Whether a value is masked is
    known from the role, never guessed from a "*" in it (an address may contain one)."""
    head = next((p for p in doc["persons"] if p.get("relation") == "户主"), None)
    name = head.get("name") if head else None
    address, phone = doc.get("address"), doc.get("phone")
    return [
        doc["household_no"], doc["grid_id"], doc["status"],
        mask_name(name) if isinstance(name, str) and not review else name,
        len(doc["persons"]),
        mask_address(address) if isinstance(address, str) and not review else address,
        mask_phone(phone) if isinstance(phone, str) else phone,  # idempotent: 138****1234
    ]  # fmt: skip


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub(
        "", value.isoformat() if isinstance(value, date) else str(value)
    )
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _csv(header: Row, rows: list[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def _xlsx(header: Row, rows: list[Row]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("export")
    sheet.append(header)
    for row in rows:
        sheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
