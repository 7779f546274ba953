"""Documented error responses: every failure carries ``{errcode, errmsg, ...details}``.

Litestar documents its own 400 body unless a handler names one, so every handler lists the
statuses it can answer with, in this one shape (see docs/errcodes.md for the codes).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Reference

__all__ = [
    "READ_ERRORS",
    "WRITE_ERRORS",
    "ErrorBody",
    "declare_transient_errors",
    "error_responses",
]


class ErrorBody(msgspec.Struct, kw_only=True):
    """``errcode`` is stable (docs/errcodes.md); extra keys carry details, e.g. ``state`` and
    ``allowed`` for 409, ``problems`` for a body that does not validate, ``errors`` (row
    number, column, reason) for a rejected ledger import."""

    errcode: int
    errmsg: str


_MEANING = {
    400: "Malformed or invalid input (400xx)",
    401: "Not authenticated: token missing, expired or revoked (401xx)",
    403: "Role not allowed, or resource outside your grid scope (403xx)",
    404: "No such resource (40400)",
    408: "Body too slow: stalled, below the minimum rate or past the deadline (40892)",
    409: "Not allowed in the current state, already exists, or stale version (409xx)",
    413: "Body too large (413xx)",
    415: "Unsupported media type (415xx)",
    422: "File has bad rows; nothing was imported (42210)",
    429: "Rate limited upstream; retry later (429xx)",
    502: "Upstream error (502xx)",
    503: "A backing service is unavailable; retry later (503xx)",
}


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        s: ResponseSpec(ErrorBody, description=_MEANING[s], generate_examples=False)
        for s in statuses
    }


READ_ERRORS: dict[int, Any] = error_responses(400, 401, 403, 404)
WRITE_ERRORS: dict[int, Any] = error_responses(400, 401, 403, 404, 409, 413)


def declare_transient_errors(app: Litestar) -> None:
    """Document the failures no handler chooses: every operation may meet a database restart
    or an S3 outage (503, retry later), and every operation with a body may be sent too slowly
    (408, backend/http/body_deadline.py). Handlers that declare them already keep their own
    wording."""
    for item in (app.openapi_schema.paths or {}).values():
        for method in ("get", "put", "post", "patch", "delete"):
            operation: Operation | None = getattr(item, method)
            if operation is not None:
                _declare(operation, 503)
                if operation.request_body is not None:
                    _declare(operation, 408)


def _declare(operation: Operation, status: int) -> None:
    responses = operation.responses if operation.responses is not None else {}
    responses.setdefault(
        str(status),
        OpenAPIResponse(
            description=_MEANING[status],
            content={
                "application/json": OpenAPIMediaType(
                    schema=Reference(ref="#/components/schemas/ErrorBody")
                )
            },
        ),
    )
    operation.responses = responses
