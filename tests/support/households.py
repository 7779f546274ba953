"""Building blocks for household tests: valid ID numbers, request bodies, API shortcuts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from backend.ledger_import import make_id_number

__all__ = [
    "Json",
    "file_of",
    "household_body",
    "id_number",
    "id_number_ending",
    "person",
    "register",
    "town_household_count",
    "unique_no",
]

Json = dict[str, Any]


def id_number(birth: date, sequence: int, *, region: str = "330782") -> str:
    """A valid 18-character ID number (odd ``sequence`` for men, even for women)."""
    return make_id_number(region, birth, sequence)


def id_number_ending(tail: str, *, region: str = "110105") -> str:
    """A valid ID number that starts with ``region`` and ends with the 4 characters ``tail``.

    The sequence is fixed to ``tail[:3]``; birth dates are tried until the check character
    equals ``tail[3]``.
    """
    day = date(1968, 3, 12)
    for _ in range(4000):
        number = make_id_number(region, day, int(tail[:3]))
        if number.endswith(tail):
            return number
        day += timedelta(days=1)
    raise AssertionError(f"no ID number ends with {tail}")


def unique_no(tag: str = "HH") -> str:
    """A household number no other test (or module) uses."""
    return f"{tag}-{uuid4().hex[:12]}"


def person(name: str, relation: str, *, gender: str = "male", **extra: Any) -> Json:
    return {"name": name, "relation": relation, "gender": gender, **extra}


def household_body(
    grid_id: UUID | str,
    *,
    household_no: str | None = None,
    persons: list[Json] | None = None,
    address: str = "甲村 5 组 23 号",
    phone: str | None = None,
    **extra: Any,
) -> Json:
    body: Json = {
        "household_no": household_no or unique_no(),
        "grid_id": str(grid_id),
        "address": address,
        "persons": persons or [person("王建国", "户主")],
        **extra,
    }
    if phone is not None:
        body["phone"] = phone
    return body


async def register(client: httpx.AsyncClient, headers: dict[str, str], body: Json) -> Json:
    """Register through the API; the registration must succeed."""
    response = await client.post("/v1/households", headers=headers, json=body)
    assert response.status_code == 201, response.text
    created: Json = response.json()
    return created


async def file_of(client: httpx.AsyncClient, headers: dict[str, str], household_id: str) -> Json:
    response = await client.get(f"/v1/households/{household_id}", headers=headers)
    assert response.status_code == 200, response.text
    found: Json = response.json()
    return found


async def town_household_count(pool: Any, town_id: UUID) -> int:
    """Households filed anywhere under ``town_id`` (straight from the read model)."""
    value = await pool.fetchval(
        "SELECT count(*) FROM household_files h JOIN grid_units u ON u.id = h.grid_id "
        "WHERE u.path @> ARRAY[$1]::uuid[]",
        town_id,
    )
    return int(value)
