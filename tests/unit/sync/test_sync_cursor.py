"""Pull cursors and pages: signed, bound to the caller, cut at log positions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import pytest

from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.sync_items import item_of
from backend.services.sync_pull import SyncPullService, _advance, _cut, _Page, _positions, _State


def actor(device: str = "phone-1") -> Actor:
    return Actor(staff_id=uuid4(), name="x", role="grid_member", scope_unit_id=uuid4(),
                 device_id=device, session_id=None)  # fmt: skip


def service(secret: bytes = b"secret") -> SyncPullService:
    container: Any = SimpleNamespace(pool=None, settings=SimpleNamespace(token_secret=secret))
    return SyncPullService(container)


def test_a_cursor_round_trips_for_its_owner_only() -> None:
    # given a cursor issued to a member's phone
    me = actor()
    state = _State(s=str(me.staff_id), d=me.device_id, t=40, p=40, h="abc")
    cursor = service()._encode(state)
    # then it reads back for that phone, and not for another phone, person or server key
    assert service()._decode(cursor, me) == state
    for who, svc in ((actor(), service()), (me, service(b"other"))):
        with pytest.raises(ApiError) as refused:
            svc._decode(cursor, who)
        assert refused.value.errcode == 40063
    other_device = Actor(**{**me.__dict__, "device_id": "phone-2"})
    with pytest.raises(ApiError):
        service()._decode(cursor, other_device)


@pytest.mark.parametrize("garbage", ["", ".", "abc", "abc.def", "é.é"])
def test_garbage_is_an_invalid_cursor_not_a_crash(garbage: str) -> None:
    with pytest.raises(ApiError) as refused:
        service()._decode(garbage, actor())
    assert refused.value.errcode == 40063


def test_a_page_is_never_cut_inside_one_log_position() -> None:
    # given rows at positions 1, 2, 2, 2 and a limit of 2 (the query fetched limit + 1)
    rows: Any = [{"seq": 1}, {"seq": 2}, {"seq": 2}]
    # then the page ends before position 2
    assert [r["seq"] for r in _cut(rows, 2)] == [1]
    # and a position bigger than the limit is sent whole
    whole: Any = [{"seq": 5}, {"seq": 5}, {"seq": 5}]
    assert len(_cut(whole, 2)) == 3


def test_new_buckets_start_from_nothing_and_known_ones_keep_their_position() -> None:
    state = _State(s="s", d="d", t=50, p=50, x={"unit:b": 7}, h="h")
    positions = _positions(state, ["unit:a", "unit:b", "unit:new"], ["unit:a", "unit:b"])
    assert positions == {"unit:a": 50, "unit:b": 7, "unit:new": 0}


def test_a_finished_run_puts_every_bucket_at_the_checkpoint() -> None:
    state = _State(s="s", d="d")
    middle = _advance(state, {"a": 0, "b": 30}, _Page(has_more=True, last_seq=20), 90, "h")
    assert (middle.m, middle.t) == (True, 90)
    assert _positions(middle, ["a", "b"], ["a", "b"]) == {"a": 20, "b": 30}
    done = _advance(middle, {"a": 20, "b": 30}, _Page(has_more=False), 90, "h")
    assert (done.p, done.x, done.m) == (90, {}, False)


def test_the_body_hash_ignores_key_order_but_not_content() -> None:
    common: Any = {"event_id": uuid4(), "device_seq": 1, "type": "visit.recorded",
                   "captured_at": None, "base_version": None, "media": []}  # fmt: skip
    one = item_of(payload={"a": 1, "b": [1, 2]}, **common)
    same = item_of(payload={"b": [1, 2], "a": 1}, **common)
    other = item_of(payload={"a": 1, "b": [2, 1]}, **common)
    assert one.body_sha256 == same.body_sha256 != other.body_sha256
