"""The documented errcode table is the one the code uses."""

from __future__ import annotations

from pathlib import Path

from backend.errors import ERRCODES, errcode_table
from events.errors import (
    BindingCodeInvalid,
    DomainError,
    InvalidGridCode,
    InvalidTransition,
    InvalidValue,
    NotFound,
    StaleBaseVersion,
)

DOC = Path(__file__).parents[2] / "docs" / "errcodes.md"


def test_docs_errcodes_md_contains_the_current_table() -> None:
    assert errcode_table() in DOC.read_text(encoding="utf-8")


def test_every_domain_error_has_a_documented_errcode_with_its_status_prefix() -> None:
    for cls in (
        DomainError,
        InvalidValue,
        InvalidGridCode,
        BindingCodeInvalid,
        NotFound,
        InvalidTransition,
        StaleBaseVersion,
    ):
        assert cls.errcode in ERRCODES, cls
    for code, (status, _) in ERRCODES.items():
        assert str(code).startswith(str(status)), code
