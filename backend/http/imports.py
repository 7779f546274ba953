"""Ledger import endpoint: an XLSX or CSV file, all-or-nothing unless told otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, post
from litestar.datastructures import UploadFile
from litestar.params import MultipartBody

from backend.errors import ApiError
from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.responses import error_responses
from backend.services.ledger_import import ImportOutcome, LedgerImportService

__all__ = ["LedgerImportController"]

IMPORT_ERRORS = error_responses(400, 401, 403, 409, 413, 422)


@dataclass
class LedgerUpload:
    file: UploadFile
    allow_partial: bool = False


class LedgerImportController(Controller):
    path = "/v1/household-imports"
    tags = ["households"]
    dependencies = actor_dependency
    security = BEARER

    @post(
        operation_id="importLedger",
        status_code=200,
        summary="Import households from an XLSX/CSV ledger (see docs/ledger-import.md)",
        responses=IMPORT_ERRORS,
    )
    async def import_ledger(
        self,
        container: ContainerDep,
        actor: ActorDep,
        data: MultipartBody[LedgerUpload],
    ) -> ImportOutcome:
        content = await data.file.read()
        if not content:
            raise ApiError(40020, "the uploaded file is empty")
        return await LedgerImportService(container).import_file(
            actor,
            content,
            filename=data.file.filename or "ledger",
            allow_partial=data.allow_partial,
        )
