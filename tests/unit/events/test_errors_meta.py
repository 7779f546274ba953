"""Errcode table and event provenance."""

import pytest

from events import (
    SYSTEM_META,
    BindingCodeInvalid,
    DomainError,
    InvalidGridCode,
    InvalidTransition,
    InvalidValue,
    NotFound,
    StaleBaseVersion,
    system_meta,
)


@pytest.mark.parametrize(
    ("cls", "errcode"),
    [
        (DomainError, 40000),
        (InvalidValue, 40010),
        (InvalidGridCode, 40011),
        (BindingCodeInvalid, 40130),
        (NotFound, 40400),
        (InvalidTransition, 40910),
        (StaleBaseVersion, 40920),
    ],
)
def test_errcodes_are_stable(cls: type[DomainError], errcode: int) -> None:
    assert cls.errcode == errcode


def test_error_body_merges_details() -> None:
    err = InvalidTransition("grid unit is retired", state="retired")
    assert err.errmsg == "grid unit is retired"
    assert err.details == {"state": "retired"}
    assert err.to_body() == {"errcode": 40910, "errmsg": "grid unit is retired", "state": "retired"}


def test_grid_code_errors_are_invalid_values() -> None:
    assert issubclass(InvalidGridCode, InvalidValue)


def test_system_meta_has_no_actor() -> None:
    m = system_meta("scheduler")
    assert m.actor_id is None
    assert m.role == "system"
    assert m.device_id == "scheduler"
    assert m.client_time is None
    assert m.schema_version == 1
    assert SYSTEM_META.device_id == "server"
