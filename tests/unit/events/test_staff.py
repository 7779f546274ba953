"""Stories of staff: appointment, reassignment, relief, WeChat binding."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from events import BindingCodeInvalid, InvalidTransition, InvalidValue, Staff
from tests.unit.events.conftest import GRID_A, GRID_B, meta

D1, D2, D3 = date(2024, 1, 1), date(2024, 6, 1), date(2025, 1, 1)
NOW = datetime(2024, 3, 1, 9, tzinfo=UTC)
ADMIN = meta(role="admin")


def appoint(role: str = "grid_member", staff_id: UUID | None = None) -> Staff:
    return Staff.appoint(
        name=" 王网格 ", work_phone="13812341234", role=role, scope_unit_id=GRID_A,
        effective_from=D1, meta=ADMIN, staff_id=staff_id,
    )  # fmt: skip


def test_appointment_starts_an_open_assignment() -> None:
    s = appoint(staff_id=UUID(int=42))
    assert s.id == UUID(int=42)
    assert s.name == "王网格"
    assert s.status == "active"
    a = s.assignment_on(D2)
    assert a is not None
    assert (a.role, a.scope_unit_id, a.effective_to) == ("grid_member", GRID_A, None)
    assert s.assignment_on(date(2023, 12, 31)) is None
    assert [type(e).__name__ for e in s.collect_events()] == ["Appointed"]


def test_appointment_without_id_gets_a_fresh_one() -> None:
    assert appoint().id != appoint().id


@pytest.mark.parametrize(
    ("field", "value"), [("role", "mayor"), ("work_phone", "12345"), ("name", " ")]
)
def test_appointment_validates_its_fields(field: str, value: str) -> None:
    kwargs = {"name": "王", "work_phone": "0571-88886666", "role": "grid_head"} | {field: value}
    with pytest.raises(InvalidValue):
        Staff.appoint(
            name=kwargs["name"], work_phone=kwargs["work_phone"], role=kwargs["role"],
            scope_unit_id=GRID_A, effective_from=D1, meta=ADMIN,
        )  # fmt: skip


def test_reassignment_closes_the_previous_assignment() -> None:
    # given a grid member, when made grid head of another grid from D2
    s = appoint()
    s.reassign("grid_head", GRID_B, D2, meta=ADMIN)
    # then the history has both, the first ending (exclusively) on D2
    first, second = s.assignments
    assert first.effective_to == D2
    assert s.assignment_on(date(2024, 5, 31)) == first
    assert s.assignment_on(D2) == second
    assert (second.role, second.scope_unit_id) == ("grid_head", GRID_B)


def test_reassignment_rules() -> None:
    s = appoint()
    s.collect_events()
    s.reassign("grid_member", GRID_A, D2, meta=ADMIN)  # unchanged: no-op
    assert s.collect_events() == []
    with pytest.raises(InvalidValue):
        s.reassign("boss", GRID_B, D2, meta=ADMIN)
    with pytest.raises(InvalidValue):
        s.reassign("grid_head", GRID_B, date(2023, 1, 1), meta=ADMIN)


def test_relieved_staff_refuse_every_command() -> None:
    # given a bound staff member who is relieved on D2
    s = appoint()
    s.issue_binding_code("hash-1", NOW + timedelta(days=1), meta=ADMIN)
    s.bind_wechat("openid-hash", "hash-1", NOW, meta=meta())
    s.relieve(D2, "调离", meta=ADMIN)
    # then the assignment ends, the binding is dropped, and every command is refused
    assert s.status == "relieved"
    assert s.assignment_on(D2) is None
    assert s.wechat_openid_hash is None
    commands: list[Callable[[], None]] = [
        lambda: s.reassign("grid_head", GRID_B, D3, meta=ADMIN),
        lambda: s.relieve(D3, "again", meta=ADMIN),
        lambda: s.issue_binding_code("h", NOW, meta=ADMIN),
        lambda: s.bind_wechat("o", "h", NOW, meta=ADMIN),
        lambda: s.unbind_wechat("lost", meta=ADMIN),
    ]
    for command in commands:
        with pytest.raises(InvalidTransition) as exc:
            command()
        assert exc.value.details["state"] == "relieved"


def test_relief_rules() -> None:
    s = appoint()
    with pytest.raises(InvalidValue):
        s.relieve(date(2023, 1, 1), "早于任命", meta=ADMIN)
    with pytest.raises(InvalidValue):
        s.relieve(D2, "", meta=ADMIN)


def test_binding_consumes_the_code() -> None:
    # given an issued code, when the member binds with it
    s = appoint()
    s.issue_binding_code("hash-1", NOW + timedelta(hours=1), meta=ADMIN)
    s.bind_wechat("openid-hash", "hash-1", NOW, meta=meta())
    # then the binding is stored (hashed) and the code cannot be used again
    assert s.wechat_openid_hash == "openid-hash"
    assert s.binding_code is not None
    assert s.binding_code.used
    with pytest.raises(BindingCodeInvalid) as exc:
        s.bind_wechat("other", "hash-1", NOW, meta=meta())
    assert exc.value.details == {"reason": "used"}


@pytest.mark.parametrize(
    ("code", "now", "reason"),
    [
        ("wrong", NOW, "mismatch"),
        ("hash-1", NOW + timedelta(hours=1), "expired"),
        ("hash-1", NOW + timedelta(days=3), "expired"),
    ],
)
def test_bad_binding_codes(code: str, now: datetime, reason: str) -> None:
    s = appoint()
    s.issue_binding_code("hash-1", NOW + timedelta(hours=1), meta=ADMIN)
    with pytest.raises(BindingCodeInvalid) as exc:
        s.bind_wechat("openid-hash", code, now, meta=meta())
    assert exc.value.details == {"reason": reason}
    assert exc.value.errcode == 40130


def test_binding_without_a_code() -> None:
    with pytest.raises(BindingCodeInvalid) as exc:
        appoint().bind_wechat("openid-hash", "x", NOW, meta=meta())
    assert exc.value.details == {"reason": "missing"}


def test_a_new_code_replaces_the_old_one() -> None:
    s = appoint()
    s.issue_binding_code("old", NOW + timedelta(days=1), meta=ADMIN)
    s.issue_binding_code("new", NOW + timedelta(days=1), meta=ADMIN)
    with pytest.raises(BindingCodeInvalid):
        s.bind_wechat("openid-hash", "old", NOW, meta=meta())
    s.bind_wechat("openid-hash", "new", NOW, meta=meta())


def test_naive_datetimes_are_rejected() -> None:
    s = appoint()
    with pytest.raises(InvalidValue):
        s.issue_binding_code("h", datetime(2024, 3, 1), meta=ADMIN)
    s.issue_binding_code("h", NOW, meta=ADMIN)
    with pytest.raises(InvalidValue):
        s.bind_wechat("o", "h", datetime(2024, 3, 1), meta=ADMIN)


def test_unbinding() -> None:
    s = appoint()
    with pytest.raises(InvalidTransition) as exc:
        s.unbind_wechat("lost phone", meta=ADMIN)
    assert exc.value.details["state"] == "unbound"
    s.issue_binding_code("h", NOW + timedelta(days=1), meta=ADMIN)
    s.bind_wechat("openid-hash", "h", NOW, meta=meta())
    s.unbind_wechat("lost phone", meta=ADMIN)
    assert s.wechat_openid_hash is None
