"""Evidence bundles for auditors: one zip with events, photos, proofs and the checkpoint,
checked offline by ``gridledger verify`` (docs/evidence.md). Every export is access-audited."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from backend.http.audit_access import request_id
from backend.http.bundle_schemas import BundleRequestBody
from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, actor_dependency
from backend.http.responses import error_responses
from backend.services.evidence_bundle import BundleRequest, EvidenceBundles

__all__ = ["BundleController"]

ZIP = "application/zip"


class BundleController(Controller):
    path = "/v1/audit/bundles"
    tags = ["evidence log"]
    dependencies = actor_dependency
    security = BEARER

    @post(
        operation_id="exportEvidenceBundle",
        summary="Export an evidence bundle (zip) for a case, a household or a period (auditor)",
        description="409 (40990) when some selected events are not sealed yet: retry after a "
        "few seconds. Verify the file offline with `gridledger verify FILE --key VKEY`.",
        status_code=200,
        media_type=ZIP,
        responses={
            200: ResponseSpec(bytes, description="The bundle", media_type=ZIP),
            **error_responses(400, 401, 403, 404, 409, 413),
        },
    )
    async def export(
        self,
        request: Request[Any, Any, Any],
        container: ContainerDep,
        actor: ActorDep,
        data: JSONBody[BundleRequestBody],
    ) -> Response[bytes]:
        bundle = await EvidenceBundles(container).export(
            actor, _request(data), request_id=request_id(request)
        )
        disposition = f'attachment; filename="{bundle.filename}"'
        return Response(
            bundle.content, media_type=ZIP, headers={"Content-Disposition": disposition}
        )


def _request(data: BundleRequestBody) -> BundleRequest:
    return BundleRequest(
        reason=data.reason,
        case_id=data.case_id,
        household_id=data.household_id,
        period_from=data.period.from_ if data.period else None,
        period_to=data.period.to if data.period else None,
    )
