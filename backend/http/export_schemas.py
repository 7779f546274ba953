"""Wire types of exports and the export audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar.openapi.spec import Operation, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.openapi.spec.media_type import OpenAPIMediaType

from backend.http.wire import RequestBody
from backend.services.exports import XLSX

__all__ = ["CreateExport", "ExportAuditPage", "ExportAuditRow", "FileOperation", "audit_page"]


class CreateExport(RequestBody):
    """What to export, filtered how, in which format, and why (required: 40071 without one).

    ``filters`` by ``what`` (unknown keys or wrong types: 40072):
    households: grid_id, status, q · cases: state, category, level, overdue, escalated,
    holder (a staff id, not a unit id), reported_from, reported_to · grid_coverage and
    member_ranking: as_of, period, unit_id, level, by."""

    what: Literal["households", "cases", "grid_coverage", "member_ranking"]
    format: Literal["csv", "xlsx"] = "xlsx"
    filters: dict[str, Any] = msgspec.field(default_factory=dict)
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class ExportAuditRow(msgspec.Struct, kw_only=True):
    id: UUID
    at: datetime
    staff_id: UUID
    staff_name: str | None
    role: str
    scope_unit_id: UUID
    what: str
    format: str
    filters: dict[str, Any]
    reason: str
    row_count: int
    file_sha256: str


class ExportAuditPage(msgspec.Struct, kw_only=True):
    total: int
    limit: int
    offset: int
    items: list[ExportAuditRow]


def audit_page(total: int, limit: int, offset: int, rows: list[dict[str, Any]]) -> ExportAuditPage:
    items = [msgspec.convert(r, ExportAuditRow, from_attributes=True) for r in rows]
    return ExportAuditPage(total=total, limit=limit, offset=offset, items=items)


@dataclass
class FileOperation(Operation):
    """The export answers with a file: documented as CSV *or* XLSX (Litestar documents one
    media type per handler), both binary strings."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        content = getattr(ok, "content", None)
        if content is not None:
            binary = Schema(type=OpenAPIType.STRING, format="binary")  # type: ignore[arg-type]
            content.clear()
            content["text/csv"] = OpenAPIMediaType(schema=binary)
            content[XLSX] = OpenAPIMediaType(schema=binary)
