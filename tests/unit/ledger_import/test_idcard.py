from __future__ import annotations

from datetime import date

import pytest

from backend.ledger_import import check_char, has_valid_checksum, make_id_number


@pytest.mark.parametrize(
    "number",
    # Published GB 11643 examples, including one whose check character is X.
    ["11010519491231002X", "440524188001010014", "110101199003074477"],
)
def test_known_valid_numbers(number: str) -> None:
    assert has_valid_checksum(number)


def test_every_wrong_check_character_is_rejected() -> None:
    first17 = "11010519491231002"
    for char in "0123456789X":
        assert has_valid_checksum(first17 + char) == (char == check_char(first17))


def test_make_id_number_encodes_birth_and_sequence() -> None:
    number = make_id_number("330782", date(2001, 2, 3), 7)
    assert number.startswith("33078220010203007")
    assert has_valid_checksum(number)
