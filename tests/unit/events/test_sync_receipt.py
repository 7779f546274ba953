"""Sync receipts: the server's answer to one pushed event, and its fate while held."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from events.errors import InvalidTransition
from events.sync_receipt import SyncReceipt


def receipt(status: str = "deferred") -> SyncReceipt:
    return SyncReceipt.receive(
        event_id=uuid4(), staff_id=uuid4(), role="grid_member", scope_unit_id=uuid4(),
        device_id="phone-1", device_seq=7, event_type="visit.recorded",
        captured_at=datetime(2026, 3, 1, 9, tzinfo=UTC), clock_offset_ms=-4200, body="{}",
        body_sha256="a" * 64, unit_id=None, status=status,  # type: ignore[arg-type]
        waiting_for=("household:x",) if status == "deferred" else (),
    )  # fmt: skip


def test_the_receipt_id_derives_from_the_event_id_but_is_not_it() -> None:
    # given an event id made on a phone
    event_id = uuid4()
    # then its receipt id is stable and differs from it (a visit's aggregate uses that id)
    assert SyncReceipt.create_id(event_id) == SyncReceipt.create_id(event_id)
    assert SyncReceipt.create_id(event_id) != event_id


def test_a_held_event_is_applied_once_and_remembers_who_decided() -> None:
    # given a deferred receipt
    held = receipt("deferred")
    reviewer = uuid4()
    # when it is applied by a reviewer
    held.apply_held(decided_by=reviewer)
    # then it is accepted, and a second decision is refused
    assert (held.status, held.decided_by) == ("accepted", reviewer)
    with pytest.raises(InvalidTransition):
        held.refuse(errcode=40362, reason="late", decided_by=reviewer)


def test_only_a_deferred_event_is_flagged_for_review() -> None:
    # given a deferred and an accepted receipt
    deferred, accepted = receipt("deferred"), receipt("accepted")
    # when the horizon passes
    deferred.flag(errcode=40460, reason="waited too long")
    # then the deferred one needs a reviewer, the accepted one cannot be flagged
    assert (deferred.status, deferred.errcode) == ("review", 40460)
    with pytest.raises(InvalidTransition):
        accepted.flag(errcode=40460, reason="no")


def test_other_content_under_the_same_id_is_kept_once_and_never_replaces_the_first() -> None:
    # given an accepted receipt
    first = receipt("accepted")
    # when two re-sends carry the same other content, and one the original content
    first.record_conflict(body='{"x":1}', body_sha256="b" * 64, device_id="phone-2")
    first.record_conflict(body='{"x":1}', body_sha256="b" * 64, device_id="phone-2")
    first.record_conflict(body="{}", body_sha256="a" * 64, device_id="phone-1")
    # then one conflict is recorded and the first content stands
    assert first.conflict_hashes == ["b" * 64]
    assert (first.body_sha256, first.status, first.version) == ("a" * 64, "accepted", 2)


@pytest.mark.parametrize("decide", ["apply", "refuse"])
def test_a_decided_event_waits_for_nothing_any_more(decide: str) -> None:
    # given an event deferred while it waited for a household
    held = receipt("deferred")
    assert held.waiting_for == ("household:x",)
    # when it is applied (the household arrived) or refused
    if decide == "apply":
        held.apply_held(decided_by=None)
    else:
        held.refuse(errcode=40362, reason="无此户", decided_by=uuid4())
    # then it no longer names what it waited for
    assert held.waiting_for == ()


def test_what_a_held_event_waits_for_is_replaced_when_another_dependency_is_missing() -> None:
    # given an award deferred for its household
    held = receipt("deferred")
    # when the household arrives but the award's source event has not
    held.wait_for(("visit:y",), errcode=40460, reason="waiting for the source")
    held.wait_for(("visit:y",), errcode=40460, reason="waiting for the source")  # again: no-op
    # then it waits for the source, once recorded
    assert (held.status, held.waiting_for, held.reason) == (
        "deferred", ("visit:y",), "waiting for the source",
    )  # fmt: skip
    assert [type(e).__name__ for e in held.collect_events()] == ["Received", "WaitChanged"]
    # and a decided event cannot start waiting again
    held.apply_held(decided_by=None)
    with pytest.raises(InvalidTransition):
        held.wait_for(("visit:z",), errcode=40460, reason="x")
