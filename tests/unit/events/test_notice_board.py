"""Notice-board editions as stories: composed, reviewed by someone else, published, withdrawn."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import msgspec
import pytest

from events.errors import InvalidTransition, InvalidValue
from events.meta import EventMeta
from events.notice_board import (
    BoardCaseStats,
    BoardContent,
    InvalidPeriod,
    NoticeBoardEdition,
    SelfReview,
    content_sha256,
)
from storage.mapper import MsgspecMapper

TODAY = date(2026, 11, 25)


def meta() -> EventMeta:
    return EventMeta(actor_id=uuid4(), role="supervisor", device_id="pc", client_time=None)


def content(*, notes: tuple[str, ...] = ()) -> BoardContent:
    cases = BoardCaseStats(
        window_start=TODAY - timedelta(days=89), window_end=TODAY, total=0, closed=0,
        closed_on_time=0, on_time_rate=None, by_state=(), by_category=(),
    )  # fmt: skip
    return BoardContent(
        unit_id=uuid4(), unit_code="330782101201", unit_name="甲村", unit_level=2,
        composed_at=datetime(2026, 11, 25, 8, tzinfo=UTC), grids=(), commendations=(),
        ranking=(), cases=cases, checkpoint=None, notes=notes,
    )  # fmt: skip


def draft(composer: EventMeta, **kwargs: object) -> NoticeBoardEdition:
    period = {"period_start": TODAY, "period_end": None, **kwargs}
    return NoticeBoardEdition.compose(
        edition_id=uuid4(),
        content=content(),
        meta=composer,
        **period,  # type: ignore[arg-type]
    )


def test_the_default_publication_period_is_seven_days_inclusive() -> None:
    # given a draft composed today without an end date
    edition = draft(meta())
    # then its 公示期 runs seven days, both ends included
    assert (edition.period_start, edition.period_end) == (TODAY, TODAY + timedelta(days=6))
    assert edition.state == "draft"


def test_a_reversed_or_too_long_period_is_refused() -> None:
    with pytest.raises(InvalidPeriod):
        draft(meta(), period_end=TODAY - timedelta(days=1))
    with pytest.raises(InvalidPeriod):
        draft(meta(), period_end=TODAY + timedelta(days=90))


def test_the_composer_cannot_approve_but_another_reviewer_can_and_may_retry() -> None:
    # given a draft by one supervisor
    composer, reviewer = meta(), meta()
    edition = draft(composer)
    # when the composer approves it, then that is refused
    with pytest.raises(SelfReview):
        edition.approve(meta=composer)
    # when another reviewer approves it twice, then one Approved event is recorded
    edition.approve(meta=reviewer)
    edition.approve(meta=reviewer)
    assert edition.state == "approved"
    assert [type(e).__name__ for e in edition.collect_events()] == ["Composed", "Approved"]


def test_publishing_freezes_the_content_with_its_hash() -> None:
    # given an approved edition
    edition = draft(meta())
    edition.approve(meta=meta())
    edition.collect_events()
    # when it is published (twice: a retry)
    edition.publish(today=TODAY, meta=meta())
    edition.publish(today=TODAY, meta=meta())
    # then one Published event carries the content and its SHA-256
    (published,) = edition.collect_events()
    assert isinstance(published, NoticeBoardEdition.Published)
    assert published.content == edition.content
    assert published.content_sha256 == content_sha256(edition.content)
    # and it survives the event store's mapper unchanged
    mapper = MsgspecMapper()
    decoded = mapper.to_domain_event(mapper.to_stored_event(published))
    assert decoded.content == published.content


def test_publishing_needs_review_and_a_period_not_yet_over() -> None:
    edition = draft(meta())
    with pytest.raises(InvalidTransition):
        edition.publish(today=TODAY, meta=meta())
    edition.approve(meta=meta())
    with pytest.raises(InvalidPeriod):
        edition.publish(today=TODAY + timedelta(days=7), meta=meta())


def test_a_withdrawal_needs_a_reason_and_ends_the_edition() -> None:
    edition = draft(meta())
    edition.approve(meta=meta())
    edition.publish(today=TODAY, meta=meta())
    with pytest.raises(InvalidValue):
        edition.withdraw("  ", meta=meta())
    edition.withdraw("统计有误", meta=meta())
    assert edition.state == "withdrawn"
    with pytest.raises(InvalidTransition):
        edition.approve(meta=meta())


def test_an_edition_composed_before_holiday_gaps_were_named_keeps_its_hash() -> None:
    # given content as composed before BoardCaseStats named years without holiday data
    frozen = content()
    old_json = msgspec.json.encode(frozen).replace(b',"holiday_data_missing":[]', b"")
    # when it is decoded and hashed again today
    again = msgspec.json.decode(old_json, type=BoardContent)
    # then it encodes to the same bytes, so its published hash still verifies
    assert content_sha256(again) == hashlib.sha256(old_json).hexdigest()
    # and content that names a year carries it
    named = msgspec.structs.replace(
        frozen, cases=msgspec.structs.replace(frozen.cases, holiday_data_missing=(2027,))
    )
    assert b'"holiday_data_missing":[2027]' in msgspec.json.encode(named)
