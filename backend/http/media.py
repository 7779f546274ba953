"""Photo endpoints: upload as ``wx.uploadFile`` sends it, signed reads, EXIF-free public copies.

The upload handler takes no ``data`` parameter on purpose: Litestar would read the whole body
into memory to build it. The handler streams ``request.stream()`` through the service instead,
so the request body schema is declared by hand (:class:`_MultipartPhotoOperation`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Annotated, Any, Final

from litestar import Controller, Request, Response, get, post
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import PathParameter

from backend.errors import ApiError
from backend.http.deps import ContainerDep
from backend.http.guards import BEARER, ActorDep, ErrorBody, actor_dependency
from backend.services.media import MediaLink, MediaService, MediaUploaded, PublicMediaCopy

__all__ = ["MediaController"]

Sha256 = Annotated[
    str,
    PathParameter(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the photo, lowercase hex"),
]


def _errors(described: dict[int, str]) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(ErrorBody, description=text, generate_examples=False)
        for status, text in described.items()
    }


_READ_ERRORS: Final = {
    400: "Not a lowercase hex SHA-256 (40001)",
    401: "Not authenticated (401xx)",
    403: "Photo taken outside your grid scope (40301)",
    404: "No such photo (40400)",
}


@dataclass
class _MultipartPhotoOperation(Operation):
    """Documents the multipart body the handler reads as a stream."""

    def __post_init__(self) -> None:
        form = Schema(
            type=OpenAPIType.OBJECT,
            required=["file", "sha256"],
            properties={
                "file": Schema(
                    type=OpenAPIType.STRING,
                    content_media_type="application/octet-stream",
                    description="JPEG, PNG, WebP or HEIC/HEIF (judged by its bytes, not "
                    "its name or part Content-Type); the filename is ignored",
                ),
                "sha256": Schema(
                    type=OpenAPIType.STRING,
                    pattern="^[0-9a-f]{64}$",
                    description="SHA-256 of the file, lowercase hex; before or after the file",
                ),
            },
        )
        self.request_body = RequestBody(
            content={"multipart/form-data": OpenAPIMediaType(schema=form)}, required=True
        )


async def _body(request: Request[Any, Any, Any]) -> AsyncGenerator[bytes, None]:
    """The request body as it arrives; the router's size cap ends it as 41310."""
    async with contextlib.aclosing(request.stream()) as stream:
        try:
            async for chunk in stream:
                yield chunk
        except RequestEntityTooLarge:
            limit = request.route_handler.resolve_request_max_body_size()
            raise ApiError(41310, "photo too large", limit=limit) from None


class MediaController(Controller):
    path = "/v1/media"
    tags = ["media"]
    dependencies = actor_dependency
    security = BEARER

    @post(
        operation_id="uploadMedia",
        summary="Upload a photo (multipart, as wx.uploadFile sends it)",
        description="Streams the `file` part to storage under its SHA-256, after checking the "
        "declared `sha256`, the size limit and the image type by magic bytes. Idempotent: "
        "201 when stored now, 200 (`created: false`) when these bytes were stored before.",
        status_code=201,
        operation_class=_MultipartPhotoOperation,
        responses={
            200: ResponseSpec(MediaUploaded, description="Already stored; nothing re-uploaded"),
            **_errors(
                {
                    400: "Hash mismatch (40050), malformed or truncated multipart (40051), "
                    "bad sha256 field (40052)",
                    401: "Not authenticated (401xx)",
                    408: "Body too slow: stalled, below the minimum rate or past the body "
                    "deadline (40892); the connection is closed",
                    413: "Photo too large (41310)",
                    415: "Not a JPEG, PNG, WebP or HEIC/HEIF image (41510)",
                    503: "Object store unavailable (50320)",
                }
            ),
        },
    )
    async def upload(
        self, request: Request[Any, Any, Any], container: ContainerDep, actor: ActorDep
    ) -> Response[MediaUploaded]:
        content_type = request.headers.get("content-type")
        result = await MediaService(container).upload(actor, _body(request), content_type)
        return Response(result, status_code=201 if result.created else 200)

    @get(
        "/{sha256:str}",
        operation_id="getMedia",
        summary="A 5-minute signed URL for a photo in your scope (audited)",
        responses=_errors(_READ_ERRORS),
    )
    async def get_media(
        self, container: ContainerDep, actor: ActorDep, sha256: Sha256
    ) -> MediaLink:
        return await MediaService(container).link(actor, sha256)

    @post(
        "/{sha256:str}/public-copy",
        operation_id="createPublicMediaCopy",
        summary="Write a copy without EXIF/XMP/comments (supervisor, admin); not for HEIC",
        status_code=201,
        responses={
            200: ResponseSpec(PublicMediaCopy, description="The copy existed already"),
            **_errors(
                {
                    **_READ_ERRORS,
                    403: "Role not allowed (40300) or outside your scope (40301)",
                    422: "HEIC/HEIF has no public copy (42250); stored photo malformed (42251)",
                    503: "Object store unavailable (50320)",
                }
            ),
        },
    )
    async def public_copy(
        self, container: ContainerDep, actor: ActorDep, sha256: Sha256
    ) -> Response[PublicMediaCopy]:
        result = await MediaService(container).public_copy(actor, sha256)
        return Response(result, status_code=201 if result.created else 200)
