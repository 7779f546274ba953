"""Editions of the public notice board (公示栏): composed, reviewed, published frozen, withdrawn.

An edition's content is a snapshot of what the public may read about one village or town
(grid structure with staff work phones, commendations, the staff points ranking, case
statistics and the latest audit checkpoint). It is composed from the read models by a
supervisor or admin, reviewed by a *different* person (四眼原则: the approver can't be the
composer), and published with a 公示期 (publication period). The ``Published`` event carries
the content and its SHA-256, so the event alone is the evidence of what was shown; nothing
changes an edition after that except its withdrawal, which records a reason.

States (other commands raise ``InvalidTransition`` with ``details["state"]``)::

    draft --approve--> approved --publish--> published --withdraw--> withdrawn
    draft / approved --withdraw--> withdrawn  (a discarded draft)

Repeating the command that led to the current state is a no-op (a retried request after a
lost response), so a client may retry any of them safely.
"""

import hashlib
from datetime import date, datetime, timedelta
from typing import ClassVar, Final, Literal, Self
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, event

from events.errors import DomainError, InvalidTransition
from events.meta import EventMeta
from events.validation import validate_text

__all__ = [
    "DEFAULT_PERIOD_DAYS",
    "MAX_PERIOD_DAYS",
    "BoardCaseStats",
    "BoardCheckpoint",
    "BoardCommendation",
    "BoardContact",
    "BoardContent",
    "BoardCount",
    "BoardGrid",
    "BoardRankEntry",
    "EditionState",
    "InvalidPeriod",
    "NoticeBoardEdition",
    "SelfReview",
    "content_sha256",
    "publication_period",
]

EditionState = Literal["draft", "approved", "published", "withdrawn"]
DEFAULT_PERIOD_DAYS: Final = 7
MAX_PERIOD_DAYS: Final = 90
REASON_MAX: Final = 500


class SelfReview(DomainError):
    """errcode 40380 (HTTP 403): the composer of an edition tried to approve it."""

    errcode: ClassVar[int] = 40380


class InvalidPeriod(DomainError):
    """errcode 40080: the 公示期 ends before it starts, is longer than MAX_PERIOD_DAYS, or has
    already ended when the edition is published."""

    errcode: ClassVar[int] = 40080


# -- the content: public by construction (no resident data but masked names) -----------------


class BoardContact(msgspec.Struct, frozen=True, kw_only=True):
    """A grid head or member: public contacts, so full name and work phone."""

    name: str
    role: str
    work_phone: str


class BoardGrid(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    level: int
    households: int
    contacts: tuple[BoardContact, ...]


class BoardCommendation(msgspec.Struct, frozen=True, kw_only=True):
    """An approved commendation; a household appears as its head's masked name (王*国家)."""

    recipient: str
    recipient_kind: Literal["household", "staff"]
    title: str
    grid_name: str
    day: date


class BoardRankEntry(msgspec.Struct, frozen=True, kw_only=True):
    rank: int
    name: str
    grid_name: str
    points: int


class BoardCount(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    label: str
    count: int


class BoardCaseStats(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Counts only, over cases reported in [window_start, window_end].

    ``omit_defaults``: an edition composed before ``holiday_data_missing`` existed encodes,
    and so hashes (:func:`content_sha256`), exactly as it did."""

    window_start: date
    window_end: date
    total: int
    closed: int
    closed_on_time: int
    on_time_rate: float | None
    by_state: tuple[BoardCount, ...]
    by_category: tuple[BoardCount, ...]
    holiday_data_missing: tuple[int, ...] = ()
    """Years of the window without holiday data: their deadlines counted Monday–Friday only,
    so ``closed_on_time`` is provisional."""


class BoardCheckpoint(msgspec.Struct, frozen=True, kw_only=True):
    """The audit log's latest signed checkpoint (DESIGN §7)."""

    tree_size: int
    root_hash_hex: str
    root_hash_base64: str
    key_id: str | None
    issued_at: datetime | None
    signed_note: str | None


class BoardContent(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: UUID
    unit_code: str
    unit_name: str
    unit_level: int
    composed_at: datetime
    grids: tuple[BoardGrid, ...]
    commendations: tuple[BoardCommendation, ...]
    ranking: tuple[BoardRankEntry, ...]
    cases: BoardCaseStats
    checkpoint: BoardCheckpoint | None
    notes: tuple[str, ...]


_encoder = msgspec.json.Encoder()


def content_sha256(content: BoardContent) -> str:
    """Hex SHA-256 of the content's JSON (field order fixed by the Struct: canonical)."""
    return hashlib.sha256(_encoder.encode(content)).hexdigest()


def publication_period(start: date, end: date | None) -> tuple[date, date]:
    """The 公示期, both days inclusive; by default DEFAULT_PERIOD_DAYS days from ``start``."""
    end = end if end is not None else start + timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if end < start:
        raise InvalidPeriod("period_end is before period_start", field="period_end")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise InvalidPeriod(f"a 公示期 lasts at most {MAX_PERIOD_DAYS} days", field="period_end")
    return start, end


class NoticeBoardEdition(Aggregate):
    """One edition of one unit's board (see the module docstring for its states)."""

    class Composed(Aggregate.Created):
        unit_id: UUID
        content: BoardContent
        period_start: date
        period_end: date
        meta: EventMeta

    class Approved(Aggregate.Event):
        content_sha256: str
        meta: EventMeta

    class Published(Aggregate.Event):
        content: BoardContent
        content_sha256: str
        period_start: date
        period_end: date
        meta: EventMeta

    class Withdrawn(Aggregate.Event):
        reason: str
        meta: EventMeta

    @classmethod
    def compose(
        cls,
        *,
        edition_id: UUID,
        content: BoardContent,
        period_start: date,
        period_end: date | None,
        meta: EventMeta,
    ) -> Self:
        start, end = publication_period(period_start, period_end)
        return cls._create(
            cls.Composed,
            id=edition_id,
            unit_id=content.unit_id,
            content=content,
            period_start=start,
            period_end=end,
            meta=meta,
        )

    @event(Composed)
    def __init__(
        self,
        unit_id: UUID,
        content: BoardContent,
        period_start: date,
        period_end: date,
        meta: EventMeta,
    ) -> None:
        self.unit_id = unit_id
        self.content = content
        self.period_start = period_start
        self.period_end = period_end
        self.composed_by = meta.actor_id
        self.approved_by: UUID | None = None
        self.state: EditionState = "draft"

    # -- commands --------------------------------------------------------------------------

    def approve(self, *, meta: EventMeta) -> None:
        """Review passed; the reviewer must not be the composer."""
        if self.state == "approved" and meta.actor_id == self.approved_by:
            return  # a retry of this reviewer's approval
        self._require("draft")
        if meta.actor_id is None or meta.actor_id == self.composed_by:
            raise SelfReview("the composer may not approve the edition", edition_id=str(self.id))
        self._approved(content_sha256=content_sha256(self.content), meta=meta)

    def publish(self, *, today: date, meta: EventMeta) -> None:
        """Freeze the reviewed content; the privacy gate ran before (in the service)."""
        if self.state == "published":
            return
        self._require("approved")
        if self.period_end < today:
            raise InvalidPeriod("the 公示期 has already ended", field="period_end")
        self._published(
            content=self.content,
            content_sha256=content_sha256(self.content),
            period_start=self.period_start,
            period_end=self.period_end,
            meta=meta,
        )

    def withdraw(self, reason: str, *, meta: EventMeta) -> None:
        if self.state == "withdrawn":
            return
        self._withdrawn(reason=validate_text(reason, field="reason", max_len=REASON_MAX), meta=meta)

    def _require(self, state: EditionState) -> None:
        if self.state != state:
            raise InvalidTransition(f"edition is {self.state}", state=self.state)

    # -- event appliers (also run on replay: no validation here) ----------------------------

    @event(Approved)
    def _approved(self, content_sha256: str, meta: EventMeta) -> None:
        self.state = "approved"
        self.approved_by = meta.actor_id

    @event(Published)
    def _published(
        self,
        content: BoardContent,
        content_sha256: str,
        period_start: date,
        period_end: date,
        meta: EventMeta,
    ) -> None:
        self.state = "published"

    @event(Withdrawn)
    def _withdrawn(self, reason: str, meta: EventMeta) -> None:
        self.state = "withdrawn"
