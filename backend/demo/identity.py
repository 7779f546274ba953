"""Unique phone numbers and ID numbers for generated people."""

from __future__ import annotations

import random
from datetime import date
from typing import Final

from backend.ledger_import import Gender, make_id_number

_MOBILE_PREFIXES: Final[tuple[str, ...]] = (
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "199",
)


class PhoneBook:
    """Hands out mobile numbers never handed out before (a phone identifies a login)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def mobile(self) -> str:
        while True:
            number = self._rng.choice(_MOBILE_PREFIXES) + f"{self._rng.randrange(10**8):08d}"
            if number not in self._used:
                self._used.add(number)
                return number

    def landline(self) -> str:
        return f"0579-8{self._rng.randrange(10**7):07d}"


class IdRegistry:
    """Issues valid, unique 18-digit ID numbers within one region."""

    def __init__(self, rng: random.Random, region: str) -> None:
        self._rng = rng
        self._region = region
        self._used: set[str] = set()

    def issue(self, birth: date, gender: Gender) -> str:
        # The sequence code's last digit is odd for men and even for women.
        parity = 1 if gender == "male" else 0
        while True:
            sequence = self._rng.randrange(500) * 2 + parity
            number = make_id_number(self._region, birth, sequence)
            if number not in self._used:
                self._used.add(number)
                return number
