"""ID-number checksum (GB 11643) and phone formats."""

import pytest

from events import InvalidValue, validate_id_number
from events.validation import validate_mobile, validate_work_phone


def test_valid_id_number_with_x_check_digit() -> None:
    assert validate_id_number("11010519491231002X") == "11010519491231002X"


def test_lowercase_x_is_normalised() -> None:
    assert validate_id_number(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize(
    "bad",
    [
        "110105194912310021",  # wrong check digit
        "11010519491331002X",  # month 13
        "11010519490230002X",  # 30 February
        "01010519491231002X",  # area code cannot start with 0
        "1101051949123100",  # too short
        "11010519491231002XX",  # too long
        "11010519491231002A",  # bad check character
    ],
)
def test_invalid_id_numbers_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        validate_id_number(bad)
    assert exc.value.details["field"] == "id_number"


def test_mobile_numbers() -> None:
    assert validate_mobile(" 13812341234 ") == "13812341234"
    for bad in ("12812341234", "1381234123", "138123412345", "0571-88886666"):
        with pytest.raises(InvalidValue):
            validate_mobile(bad)


def test_work_phone_accepts_landlines() -> None:
    assert validate_work_phone("0571-88886666") == "0571-88886666"
    assert validate_work_phone("13812341234") == "13812341234"
    with pytest.raises(InvalidValue):
        validate_work_phone("12345")
