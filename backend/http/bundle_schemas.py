"""Wire types of the evidence bundle and access audit endpoints."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import msgspec

from backend.http.wire import RequestBody
from backend.services.access_audit import AccessEntry

__all__ = ["AccessPage", "BundlePeriod", "BundleRequestBody"]


class BundlePeriod(RequestBody):
    """Days in UTC, both inclusive; at most 366 days."""

    from_: date = msgspec.field(name="from")
    to: date


class BundleRequestBody(RequestBody):
    """Exactly one of ``case_id``, ``household_id`` or ``period``, and why."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    """Why this evidence is exported; kept in the access audit."""
    case_id: UUID | None = None
    household_id: UUID | None = None
    period: BundlePeriod | None = None


class AccessPage(msgspec.Struct, kw_only=True):
    items: list[AccessEntry]
    next_offset: int | None
    """Pass as ``offset`` for the next (older) page; null on the last page."""
