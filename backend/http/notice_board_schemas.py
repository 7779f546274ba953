"""Wire types of the notice board (公示栏): staff editions and the public board."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from backend.http.wire import RequestBody
from events.notice_board import BoardContent, EditionState

__all__ = [
    "ComposeEdition",
    "EditionPage",
    "EditionView",
    "PrivacyFinding",
    "PublicBoard",
    "PublicEdition",
    "WithdrawEdition",
    "edition_view",
]

Note = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
PublicStatus = Literal["current", "upcoming", "expired", "withdrawn"]


class ComposeEdition(RequestBody):
    """A draft for a village or town. ``edition_id`` (optional, from the client) makes a retry
    return the same draft; the 公示期 defaults to 7 days from today (both days inclusive)."""

    unit_id: UUID
    edition_id: UUID | None = None
    period_start: date | None = None
    period_end: date | None = None
    notes: Annotated[list[Note], msgspec.Meta(max_length=10)] = []


class WithdrawEdition(RequestBody):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class PrivacyFinding(msgspec.Struct, kw_only=True):
    """Where the privacy gate found a protected field (the value itself is never echoed)."""

    path: str
    kind: str


class EditionView(msgspec.Struct, kw_only=True):
    id: UUID
    unit_id: UUID
    state: EditionState
    period_start: date
    period_end: date
    content: BoardContent
    content_sha256: str | None
    composed_by: UUID | None
    composed_at: datetime
    approved_by: UUID | None
    approved_at: datetime | None
    published_by: UUID | None
    published_at: datetime | None
    withdrawn_at: datetime | None
    withdrawn_reason: str | None
    version: int
    privacy_findings: list[PrivacyFinding] | None = None
    """Set on single-edition answers: empty when the content would pass the publish gate."""
    duplicate: bool = False


class EditionPage(msgspec.Struct, kw_only=True):
    total: int
    limit: int
    offset: int
    items: list[EditionView]


class PublicEdition(msgspec.Struct, kw_only=True):
    """An edition the public may know of; ``content`` only while it is current."""

    id: UUID
    status: PublicStatus
    period_start: date
    period_end: date
    published_at: datetime
    content_sha256: str | None
    withdrawn_at: datetime | None
    content: BoardContent | None


class PublicBoard(msgspec.Struct, kw_only=True):
    unit_id: UUID
    unit_name: str
    unit_level: int
    today: date
    current: list[PublicEdition]
    editions: list[PublicEdition]


def edition_view(row: dict[str, Any], *, duplicate: bool = False) -> EditionView:
    findings = row.get("privacy_findings")
    return msgspec.convert(
        {
            **row,
            "duplicate": duplicate,
            "privacy_findings": None
            if findings is None
            else [{"path": f.path, "kind": f.kind} for f in findings],
        },
        EditionView,
        strict=False,
    )
