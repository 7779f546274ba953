"""Households full of sensitive data, and the edition workflow, for notice-board tests.

:func:`sensitive_households` is a hypothesis strategy of registration bodies whose every
household carries ID numbers, residents' mobiles, a special-population member and a minor;
:func:`secrets_of` lists what of them must never reach a public board.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from uuid import UUID

import httpx
from hypothesis import strategies as st

from events.sensitivity import PERSON_TAGS
from tests.support.households import Json, id_number, unique_no

__all__ = [
    "SPECIAL_TAGS",
    "TODAY",
    "publish_edition",
    "secrets_of",
    "sensitive_households",
    "try_publish",
]

TODAY = date.today()
SPECIAL_TAGS = sorted(code for code, spec in PERSON_TAGS.items() if spec.special_population)
# Characters absent from every fixed word of the board (unit names, labels, titles), so a
# resident's full name found in the output is a leak, not a coincidence.
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = "伟芳娜秀敏静丽强磊洋勇艳杰娟涛超霞刚桂淑玉萍红娥玲芬燕彬鹏辉"
_names = st.builds(
    lambda s, g: s + g,
    st.sampled_from(_SURNAMES),
    st.text(alphabet=_GIVEN, min_size=2, max_size=2),
)
_mobiles = st.from_regex(r"\A1(39|5[0-9]|8[6-9])[0-9]{8}\Z", fullmatch=True)


def _birth(min_age: int, max_age: int) -> st.SearchStrategy[date]:
    return st.dates(
        min_value=TODAY - timedelta(days=365 * max_age),
        max_value=TODAY - timedelta(days=365 * min_age + 2),
    )


@st.composite
def _household(draw: st.DrawFn, grid_id: UUID) -> Json:
    names = draw(st.lists(_names, min_size=3, max_size=3, unique=True))
    head_birth, spouse_birth = draw(_birth(25, 80)), draw(_birth(60, 90))
    child_birth = draw(_birth(1, 16))
    seqs = draw(st.lists(st.integers(0, 499), min_size=3, max_size=3, unique=True))
    special = draw(st.lists(st.sampled_from(SPECIAL_TAGS), min_size=1, max_size=3, unique=True))
    house = draw(st.integers(1, 999))
    return {
        "household_no": unique_no("NB"),
        "grid_id": str(grid_id),
        "address": f"甲村{house}号院{draw(st.integers(1, 9))}单元",
        "phone": draw(_mobiles),
        "persons": [
            _person(
                names[0], "户主", head_birth, 2 * seqs[0] + 1, draw(_mobiles), ["party_member"]
            ),
            _person(names[1], "父母", spouse_birth, 2 * seqs[1], draw(_mobiles), special),
            _person(names[2], "子女", child_birth, 2 * seqs[2] + 1, None, ["left_behind_child"]),
        ],
    }


def _person(
    name: str, relation: str, birth: date, seq: int, phone: str | None, tags: list[str]
) -> Json:
    return {
        "name": name,
        "relation": relation,
        "gender": "male" if seq % 2 else "female",
        "birth_date": birth.isoformat(),
        "id_number": id_number(birth, seq),
        **({"phone": phone} if phone else {}),
        "tags": tags,
    }


def sensitive_households(grid_id: UUID) -> st.SearchStrategy[list[Json]]:
    return st.lists(_household(grid_id), min_size=1, max_size=3)


def secrets_of(bodies: list[Json]) -> list[str]:
    """Values that must not appear on a public board: full names, ID numbers (also their
    masked form's ends), phones, addresses, special-population labels."""
    found: list[str] = []
    for body in bodies:
        found += [body["address"], body["phone"]]
        for p in body["persons"]:
            found += [p["name"], p["id_number"], p["id_number"][:3] + "*"]
            found += [p["phone"]] if p.get("phone") else []
    found += [PERSON_TAGS[t].label for t in SPECIAL_TAGS] + ["关注对象"]
    return found


async def try_publish(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    unit_id: UUID,
    *,
    notes: list[str] | None = None,
) -> tuple[Json, httpx.Response]:
    """Compose (supervisor), approve (admin), publish (supervisor); the publish answer."""
    composed = await client.post(
        "/v1/notice-board/editions",
        headers=headers["supervisor"],
        json={"unit_id": str(unit_id), "edition_id": str(uuid.uuid4()), "notes": notes or []},
    )
    assert composed.status_code == 201, composed.text
    edition: Json = composed.json()
    approved = await client.post(
        f"/v1/notice-board/editions/{edition['id']}/approve", headers=headers["admin"]
    )
    assert approved.status_code == 200, approved.text
    published = await client.post(
        f"/v1/notice-board/editions/{edition['id']}/publish", headers=headers["supervisor"]
    )
    return approved.json(), published


async def publish_edition(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], unit_id: UUID
) -> Json:
    _, published = await try_publish(client, headers, unit_id)
    assert published.status_code == 200, published.text
    edition: Json = published.json()
    return edition
