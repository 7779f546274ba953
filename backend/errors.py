"""Errors as the mini-program convention wants them: HTTP status + ``{errcode, errmsg, ...}``.

Every error leaving the API is mapped here, once. ``ERRCODES`` is the documented, stable table
(docs/errcodes.md is generated from it by ``gridledger errcodes``); domain errors carry their own
errcode and are given an HTTP status by class.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from eventsourcing import persistence as es
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from events import errors as domain

__all__ = ["ERRCODES", "ApiError", "errcode_table", "exception_handlers"]

log = logging.getLogger(__name__)

# errcode -> (HTTP status, meaning). Never renumber: phones in the field compare these.
ERRCODES: dict[int, tuple[int, str]] = {
    40000: (400, "malformed request: invalid JSON, wrong types or unknown fields"),
    40001: (400, "invalid query parameter"),
    40010: (400, "invalid value for a domain field"),
    40011: (400, "invalid grid code for its level or parent"),
    40020: (400, "ledger file unreadable, missing columns or too many rows"),
    40030: (400, "award source is not a record of a kind its rule's trigger names"),
    40031: (400, "award source does not concern the award's owner"),
    40050: (400, "declared sha256 does not match the uploaded bytes"),
    40051: (400, "malformed or truncated multipart upload"),
    40052: (400, "form field sha256 missing or not 64 lowercase hex"),
    40060: (400, "unsupported sync protocol version"),
    40061: (400, "unknown sync event type (per-item rejection)"),
    40062: (400, "sync event payload does not match its type (per-item rejection)"),
    40063: (400, "sync cursor invalid, tampered with, or not yours"),
    40070: (400, "as_of date in the future or before 2000-01-01"),
    40071: (400, "export without a reason"),
    40072: (400, "export filter not valid for what is exported"),
    40085: (400, "log tree size or position out of range (0, beyond the log, first > second)"),
    40086: (400, "not a signed checkpoint of this log (malformed note or other origin)"),
    40087: (400, "checkpoint not signed by any known log key"),
    40075: (400, "invalid assessment period (2026-Q3, 2026-07 or 2026-W27-28)"),
    40076: (400, "invalid assessment scheme (weights, thresholds or penalties)"),
    40077: (400, "ranking export without a reason"),
    40080: (400, "notice board 公示期 invalid: ends before it starts, too long, or already over"),
    40090: (400, "evidence bundle: give exactly one of case_id, household_id or period"),
    40091: (400, "a reason is required for exports and audit reads"),
    40101: (401, "access token malformed or missing"),
    40102: (401, "access token signature invalid"),
    40103: (401, "access token expired"),
    40104: (401, "session revoked (device unbound or staff relieved)"),
    40105: (401, "refresh token belongs to another device"),
    40106: (401, "refresh token expired"),
    40107: (401, "staff member relieved or unknown"),
    40192: (
        401,
        "refresh token reused after it was spent (past the retry grace, 60 s by default, or "
        "after its successor was used): treated as theft, the whole session is revoked; "
        "log in again (docs/security.md)",
    ),
    40120: (401, "WeChat login code invalid or expired"),
    40121: (401, "WeChat login code already used"),
    40122: (401, "WeChat account not bound to any staff member"),
    40130: (401, "binding code invalid, expired or used"),
    40300: (403, "role not allowed to perform this operation"),
    40301: (403, "resource outside the caller's grid scope"),
    40320: (403, "WeChat refused this user (risk control)"),
    40330: (403, "the proposer of an award may not decide it"),
    40340: (403, "only the staff member a case was dispatched to may sign for it"),
    40360: (403, "device_id is not the device this token is bound to"),
    40361: (403, "captured outside the current assignment, inside it or its grace then (review)"),
    40362: (403, "held sync event rejected by a reviewer"),
    40380: (403, "the composer of a notice board edition may not approve it"),
    40400: (404, "no such resource"),
    40460: (404, "sync event waits for something the server does not know yet"),
    40475: (404, "no assessment scheme version in force for the period"),
    40485: (404, "no signed checkpoint for this tree size (or none issued yet)"),
    40486: (404, "no sealed log entry at this position (unknown or not sealed yet)"),
    40500: (405, "method not allowed"),
    40892: (
        408,
        "request body too slow: paused too long, below the minimum rate, or past the body "
        "deadline; the connection is closed",
    ),
    40910: (409, "action not allowed in the current state"),
    40911: (409, "already exists"),
    40920: (409, "stale or impossible base version"),
    40960: (409, "sync event id already used with other content (kept for review)"),
    40961: (409, "household edit collided with a concurrent change; recorded for review"),
    40962: (409, "pushed event is not held any more (already decided)"),
    40975: (
        409,
        "sign-off out of order: children first (grid → village → town) or period not started",
    ),
    40976: (409, "period already signed off (locked) for this unit"),
    40930: (409, "redemption needs more points than the balance"),
    40931: (409, "a point rule's daily or total cap leaves no room"),
    40932: (409, "award source earns nothing in its state (voided, rejected, not closed, ...)"),
    40933: (409, "a mediation cannot be concluded before a session is recorded"),
    40990: (409, "events not yet sealed into a signed checkpoint; retry shortly"),
    41300: (413, "request body too large"),
    41310: (413, "photo too large"),
    41370: (413, "export would exceed the row limit; narrow the filters"),
    41390: (413, "evidence bundle too large (events or photos); export a narrower subject"),
    41510: (415, "not a JPEG, PNG, WebP or HEIC/HEIF image (judged by its bytes)"),
    42210: (422, "ledger file has bad rows; nothing was imported"),
    42250: (422, "no public copy for HEIC/HEIF photos (no safe metadata stripper)"),
    42251: (422, "stored photo is malformed; no public copy could be made"),
    42280: (422, "notice board edition contains a protected field; not published"),
    42910: (429, "WeChat rate limit; retry later"),
    50000: (500, "internal error"),
    50210: (502, "WeChat answered with an unexpected error"),
    50310: (503, "WeChat busy; retry later"),
    50311: (503, "WeChat unreachable; retry later"),
    50320: (503, "a backing service is unavailable"),
    50395: (503, "the database is unavailable (restarting or unreachable); retry later"),
}


def errcode_table() -> str:
    """The table as Markdown (docs/errcodes.md holds this, checked by a test)."""
    rows = [
        f"| {code} | {status} | {meaning} |" for code, (status, meaning) in sorted(ERRCODES.items())
    ]
    return "\n".join(["| errcode | HTTP | meaning |", "|---|---|---|", *rows]) + "\n"


class ApiError(Exception):
    """An error with a stable errcode; the HTTP status comes from the table."""

    def __init__(self, errcode: int, errmsg: str, **details: Any) -> None:
        super().__init__(errmsg)
        self.errcode, self.errmsg, self.details = errcode, errmsg, details

    @property
    def status(self) -> int:
        return ERRCODES[self.errcode][0]


def _body(
    errcode: int, errmsg: str, status: int, details: dict[str, Any] | None = None
) -> Response[dict[str, Any]]:
    return Response({"errcode": errcode, "errmsg": errmsg, **(details or {})}, status_code=status)


def _api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    return _body(exc.errcode, exc.errmsg, exc.status, exc.details)


def _domain_error(_: Request[Any, Any, Any], exc: domain.DomainError) -> Response[dict[str, Any]]:
    status = ERRCODES.get(exc.errcode, (400, ""))[0]
    return _body(exc.errcode, exc.errmsg, status, dict(exc.details))


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errcode = 40001 if _is_query_error(exc) else 40000
    return _body(errcode, str(exc.detail), 400, {"problems": _problems(exc)})


def _is_query_error(exc: ValidationException) -> bool:
    extra = exc.extra if isinstance(exc.extra, list) else []
    return any(isinstance(e, dict) and e.get("source") in {"query", "path"} for e in extra)


def _problems(exc: ValidationException) -> list[dict[str, Any]]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    return [
        {"key": e.get("key"), "message": str(e.get("message"))}
        for e in extra
        if isinstance(e, dict)
    ]


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, NotFoundException):
        return _body(40400, "no such resource", 404)
    if isinstance(exc, MethodNotAllowedException):
        return _body(40500, "method not allowed", 405)
    if exc.status_code == 413:
        return _body(41300, "request body too large", 413)
    if exc.status_code == 400:
        return _body(40000, str(exc.detail), 400)
    return _body(exc.status_code * 100, str(exc.detail), exc.status_code)


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # The caller gets no internals; the log gets everything (a 500 is always our bug).
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _body(50000, "internal error", HTTP_500_INTERNAL_SERVER_ERROR)


def _database_unavailable(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    # A database restart or a cut link is an outage, not our bug: nothing was half-written
    # (each command is one transaction), so the caller backs off and retries (phones do).
    log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
    return _body(50395, "the database is unavailable; retry later", 503)


# What asyncpg (queries) and eventsourcing (the event store, over psycopg) raise while the
# database restarts or is unreachable. ConnectionError: a refused or reset connect, which
# asyncpg's pool passes through as the OS raised it. InternalClientError ("cannot switch to
# state …"): a pooled connection the server dropped while shutting down, used before the pool
# noticed (seen by tests/e2e/test_fault_injection.py during a PostgreSQL restart).
DATABASE_OUTAGES: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InternalClientError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    es.OperationalError,
    es.InterfaceError,
    ConnectionError,
)


def _asyncpg_interface(
    request: Request[Any, Any, Any], exc: asyncpg.InterfaceError
) -> Response[dict[str, Any]]:
    """asyncpg's InterfaceError is a misuse (our bug) unless the connection was lost under
    it: "the underlying connection is closed", raised while unwinding from an outage."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, DATABASE_OUTAGES) or "connection is closed" in str(cause):
            return _database_unavailable(request, exc)
        cause = cause.__context__
    return _internal(request, exc)


exception_handlers: dict[type[Exception] | int, Any] = {
    ApiError: _api_error,
    domain.DomainError: _domain_error,
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _internal,
    **dict.fromkeys(DATABASE_OUTAGES, _database_unavailable),
    asyncpg.InterfaceError: _asyncpg_interface,
}
