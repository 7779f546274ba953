"""Exports (CSV / XLSX) of lists in your scope, each audited; and the audit, for auditors.

``POST /v1/exports`` answers with the file itself (one step: nothing is kept on the server
but the audit row); ``X-Export-Id`` and ``X-Export-Rows`` name the audit row and row count.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from backend.http.deps import ContainerDep
from backend.http.export_schemas import CreateExport, ExportAuditPage, FileOperation, audit_page
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.responses import READ_ERRORS, WRITE_ERRORS
from backend.services.exports import ExportRequest, ExportService

__all__ = ["ExportController"]

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]


class ExportController(Controller):
    path = "/v1/exports"
    tags = ["exports"]
    dependencies = actor_dependency
    security = BEARER

    @post(
        operation_id="createExport",
        summary="Export a list in your scope as CSV or XLSX, masked, with a reason; audited",
        status_code=200,
        responses=WRITE_ERRORS,
        operation_class=FileOperation,
    )
    async def create(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[CreateExport]
    ) -> Response[bytes]:
        request = ExportRequest(
            what=data.what, format=data.format, filters=data.filters, reason=data.reason
        )
        file = await ExportService(container).export(actor, request)
        headers = {"Content-Disposition": f'attachment; filename="{file.filename}"',
                   "X-Export-Id": str(file.export_id), "X-Export-Rows": str(file.rows)}  # fmt: skip
        return Response(file.content, media_type=file.media_type, headers=headers)

    @get(
        "/audit",
        operation_id="listExportAudit",
        summary="Exports made in your subtree: who, what, filters, why, rows, when (auditor, "
        "admin)",
        responses=READ_ERRORS,
    )
    async def audit(
        self, container: ContainerDep, actor: ActorDep, staff_id: FromQuery[UUID | None] = None,
        what: FromQuery[Literal["households", "cases", "grid_coverage", "member_ranking"] | None]
        = None, limit: Limit = 50, offset: Offset = 0,
    ) -> ExportAuditPage:  # fmt: skip
        total, rows = await ExportService(container).audit_log(
            actor, staff_id=staff_id, what=what, limit=limit, offset=offset
        )
        return audit_page(total, limit, offset, rows)
