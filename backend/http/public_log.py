"""Publication of the evidence log: the latest signed checkpoint as plain text, the verifier
keys, and a consistency check of a checkpoint someone kept. No account needed: copies of the
checkpoints should live outside the operator's control."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from backend.http.audit_log_schemas import KeptCheckpointBody
from backend.http.deps import ContainerDep
from backend.http.responses import error_responses
from backend.services.public_log import ConsistencyVerdict, PublicLogService

__all__ = ["PublicLogController"]

_TEXT = "text/plain; charset=utf-8"


class PublicLogController(Controller):
    path = "/v1/public/log"
    tags = ["evidence log"]

    @get(
        "/checkpoint",
        operation_id="getPublicLogCheckpoint",
        summary="The latest signed checkpoint (C2SP signed note), as plain text",
        media_type=_TEXT,
        responses={
            200: ResponseSpec(str, description="The signed note", media_type=_TEXT),
            **error_responses(404, 503),
        },
    )
    async def checkpoint(self, container: ContainerDep) -> Response[str]:
        note = await PublicLogService(container).latest_note()
        return Response(note, media_type=_TEXT, headers={"Cache-Control": "no-cache"})

    @get(
        "/keys",
        operation_id="getPublicLogKeys",
        summary="Verifier keys of the log's signing keys, one per line",
        media_type=_TEXT,
        responses={
            200: ResponseSpec(str, description="vkeys", media_type=_TEXT),
            **error_responses(503),
        },
    )
    async def keys(self, container: ContainerDep) -> Response[str]:
        return Response(PublicLogService(container).verifier_keys(), media_type=_TEXT)

    @post(
        "/consistency",
        operation_id="checkPublicLogConsistency",
        summary="Does today's log extend a checkpoint you kept? (signature checked first)",
        status_code=200,
        responses=error_responses(400, 404, 413, 503),
    )
    async def consistency(
        self, container: ContainerDep, data: JSONBody[KeptCheckpointBody]
    ) -> ConsistencyVerdict:
        return await PublicLogService(container).check(data.checkpoint)
