"""Hypothesis strategies for township slices full of protected personal data, and the leak check.

A :class:`Township` is a few household registration bodies (valid 18-digit ID numbers with
their check character, mainland mobiles, special-population tags from the code's vocabulary,
children under 14 and youths of 14-17 with distinctive names) plus adversarial shapes: an ID
number or a mobile written into the address, a ``*`` in the address (the character masks are
made of), free text with an ID number and a phone where the product accepts free text.

:meth:`Township.forbidden` says, per response profile, which of those values must not appear;
:func:`leaks` finds them in a response text, also written in other formats (lowercase ``x``,
grouped with spaces or hyphens). Names come from alphabets that share no character with each
other or with the fixed words of the product (unit names, labels), so a name found in a
response is a leak, not a coincidence.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum

from hypothesis import reject
from hypothesis import strategies as st

from backend.ledger_import import make_id_number
from events.privacy import mask_name
from events.sensitivity import ADULT_AGE, MINOR_AGE, PERSON_TAGS
from tests.support.households import Json, unique_no

__all__ = [
    "SPECIAL_TAGS",
    "STAFF_PHONE",
    "Household",
    "Person",
    "Profile",
    "Township",
    "id_numbers",
    "leaks",
    "mobiles",
    "townships",
]

TODAY = date.today()
STAFF_PHONE = "13800000000"  # the work phone of every test staff member: public by design
SPECIAL_TAGS = sorted(code for code, spec in PERSON_TAGS.items() if spec.special_population)
_REGIONS = ("110105", "330782", "440305", "510104")
# Values written into free text come from their own ranges: every example files into the same
# grid, and a lawful value of one kind (an ID in a note, shown to staff) must never equal a
# protected value of another kind (an ID in a person's record) from another example.
_ADDRESS_TEXT = (("650102",), "9")
_FREE_TEXT = (("540102",), "7")
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_COMPOUND = ("欧阳", "司马", "诸葛", "上官")
_ADULT_GIVEN = "伟芳娜秀敏静丽强磊洋勇艳杰娟涛超霞刚桂淑玉萍红娥玲芬燕彬鹏辉"
_CHILD_GIVEN = "晨曦睿哲萱瑶梓涵宸轩琪朵沐悠翊蕾"
_YOUTH_GIVEN = "昊然浩宇雨欣思彤子墨俊熙诗雯嘉怡"


class Profile(Enum):
    """What a response may show of a household in grid A1, by who asks."""

    NEED_TO_KNOW = "need_to_know"  # grid member / head of the grid: tags and children, masked IDs
    FIELD = "field"  # supervisor, mediator: full adult names, no special tags, no children's names
    REVIEW = "review"  # auditor, admin: every name, phone, ID and the address masked
    EXPORT = "export"  # list exports: review plus never a tag, not even 关注对象
    PUBLIC = "public"  # the notice board, and anyone outside the grid's scope


def mobiles(second: str = "3568") -> st.SearchStrategy[str]:
    """Mainland mobiles whose second digit is one of ``second`` (residents' by default)."""
    pattern = rf"\A1[{second}][0-9]{{9}}\Z"
    return st.from_regex(pattern, fullmatch=True).filter(lambda m: m != STAFF_PHONE)


def _years_ago(years: int) -> date:
    try:
        return TODAY.replace(year=TODAY.year - years)
    except ValueError:  # 29 February
        return TODAY.replace(year=TODAY.year - years, day=28)


def _births(min_age: int, max_age: int) -> st.SearchStrategy[date]:
    """Birth dates of people aged ``min_age`` up to (not including) ``max_age`` today, with a
    two-day margin so that a test running over midnight does not change anybody's class."""
    return st.dates(
        min_value=_years_ago(max_age) + timedelta(days=2),
        max_value=_years_ago(min_age) - timedelta(days=2),
    )


def id_numbers(birth: date, *, regions: tuple[str, ...] = _REGIONS) -> st.SearchStrategy[str]:
    """Valid resident ID numbers of someone born on ``birth`` (about 1 in 11 ends in X)."""
    return st.builds(
        lambda region, seq: make_id_number(region, birth, seq),
        st.sampled_from(regions),
        st.integers(0, 999),
    )


def _names(given: str) -> st.SearchStrategy[str]:
    surname = st.one_of(st.sampled_from(_SURNAMES), st.sampled_from(_COMPOUND))
    return st.builds(lambda s, g: s + g, surname, st.text(alphabet=given, min_size=2, max_size=2))


@dataclass
class Person:
    """One resident as generated; ``body()`` is how a phone or the office registers them."""

    name: str
    relation: str
    birth: date
    id_number: str
    phone: str | None
    tags: list[str]
    lowercase_x: bool
    person_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def body(self) -> Json:
        number = self.id_number.lower() if self.lowercase_x else self.id_number
        return {
            "person_id": self.person_id,
            "name": self.name,
            "relation": self.relation,
            "gender": "male" if int(self.id_number[16]) % 2 else "female",
            "birth_date": self.birth.isoformat(),
            "id_number": number,
            **({"phone": self.phone} if self.phone else {}),
            "tags": self.tags,
        }


@st.composite
def _person(
    draw: st.DrawFn, relation: str, ages: tuple[int, int], given: str, *, tags: list[str]
) -> Person:
    birth = draw(_births(*ages))
    return Person(
        name=draw(_names(given)),
        relation=relation,
        birth=birth,
        id_number=draw(id_numbers(birth)),
        phone=draw(st.one_of(st.none(), mobiles())) if ages[1] <= ADULT_AGE else draw(mobiles()),
        tags=tags,
        lowercase_x=draw(st.booleans()),
    )


_specials = st.lists(st.sampled_from(SPECIAL_TAGS), min_size=1, max_size=3, unique=True)


@st.composite
def _family(draw: st.DrawFn) -> list[Person]:
    """A head, an elder under need-to-know, a child under 14 and a youth of 14-17."""
    head_tags = draw(st.sampled_from([["party_member"], ["veteran"], []])) + draw(_specials)
    return [
        draw(_person("户主", (25, 80), _ADULT_GIVEN, tags=head_tags)),
        draw(_person("父母", (60, 95), _ADULT_GIVEN, tags=draw(_specials))),
        draw(_person("子女", (1, MINOR_AGE), _CHILD_GIVEN, tags=draw(_specials))),
        draw(_person("孙子女", (MINOR_AGE, ADULT_AGE), _YOUTH_GIVEN, tags=draw(_specials))),
    ]


@dataclass
class Household:
    """A family of four (head, elder, child under 14, youth of 14-17) at a free-text address."""

    persons: list[Person]
    address: str
    phone: str
    house_no: str = field(default_factory=lambda: unique_no("PII"))

    def body(self, grid_id: uuid.UUID) -> Json:
        return {
            "household_no": self.house_no,
            "grid_id": str(grid_id),
            "address": self.address,
            "phone": self.phone,
            "persons": [p.body() for p in self.persons],
        }

    @property
    def head(self) -> Person:
        return self.persons[0]

    @property
    def child(self) -> Person:
        return self.persons[2]


@st.composite
def _secret(draw: st.DrawFn, kind: str, regions: tuple[str, ...], second: str) -> str:
    """An ID number or a mobile to write into free text, from the ranges of that text."""
    if kind == "phone":
        return draw(mobiles(second))
    return draw(id_numbers(draw(_births(20, 70)), regions=regions))


@st.composite
def _household(draw: st.DrawFn, hidden: list[str]) -> Household:
    persons = draw(_family())
    # The address is free text: an ID number or a mobile may be written into it, and a "*"
    # (which masked values contain) must not make it look masked already.
    secret = draw(st.sampled_from(["id", "phone", "none"]))
    note = ""
    if secret != "none":
        value = draw(_secret(secret, *_ADDRESS_TEXT))
        hidden.append(value)
        note = f"（联系{value}）"
    star = draw(st.sampled_from(["", "*", "**"]))
    # At least 12 characters: no masked address (at most 8 kept) can contain a whole one.
    house, unit, room = (
        draw(st.integers(1, 999)),
        draw(st.integers(1, 9)),
        draw(st.integers(101, 999)),
    )
    address = f"甲村{house}号院{unit}单元{room}室{star}{note}"
    return Household(persons=persons, address=address, phone=draw(mobiles()))


@dataclass
class Township:
    """One generated slice: households of one grid and values written into free text."""

    households: list[Household]
    address_secrets: list[str]
    renames: list[str]  # the first household's child renamed, then two racing proposals
    free_text: list[str]  # an ID number and a phone for notes and case descriptions
    child_moves_out: bool  # the renamed child leaves: its contested names outlive its record

    def persons(self) -> list[Person]:
        return [p for h in self.households for p in h.persons]

    def _minors(self, below: int) -> list[str]:
        names = [p.name for p in self.persons() if p.birth > _years_ago(below)]
        if below == MINOR_AGE:
            names += self.renames
        return names

    def forbidden(self, profile: Profile) -> dict[str, list[str]]:
        """Values that ``profile`` must never show, by kind."""
        out: dict[str, list[str]] = {
            "id_number": [p.id_number for p in self.persons()],
            "phone": [p.phone for p in self.persons() if p.phone]
            + [h.phone for h in self.households],
        }
        if profile is Profile.NEED_TO_KNOW:
            return out
        children = self._minors(MINOR_AGE)
        out["special_tag"] = SPECIAL_TAGS + [PERSON_TAGS[t].label for t in SPECIAL_TAGS]
        out["child_name"] = children + [_given(n) for n in children]
        if profile is Profile.FIELD:
            return out
        out["name"] = [p.name for p in self.persons()] + self.renames
        out["address"] = [h.address for h in self.households] + self.address_secrets
        if profile is Profile.REVIEW:
            return out
        out["special_tag"] += ["关注对象", "attention"]
        if profile is Profile.EXPORT:
            return out
        youths = self._minors(ADULT_AGE)
        out["minor_mask"] = [mask_name(n) for n in youths]
        out["free_text"] = self.free_text
        return out


def _given(name: str) -> str:
    return name[2:] if name[:2] in _COMPOUND else name[1:]


@st.composite
def townships(draw: st.DrawFn) -> Township:
    address_secrets: list[str] = []
    households = draw(st.lists(_household(address_secrets), min_size=1, max_size=2))
    renames = draw(st.lists(_names(_CHILD_GIVEN), min_size=3, max_size=3, unique=True))
    free_text = [draw(_secret("id", *_FREE_TEXT)), draw(_secret("phone", *_FREE_TEXT))]
    township = Township(households, address_secrets, renames, free_text, draw(st.booleans()))
    people = township.persons()
    # Distinct values: a repeated number, phone or name would make a lawful value look like a
    # leak, and an edit to the same value would not race.
    for values in (
        [p.id_number for p in people]
        + [p.phone for p in people if p.phone]
        + [h.phone for h in households]
        + address_secrets
        + free_text,
        [p.name for p in people] + renames,
    ):
        if len(set(values)) != len(values):
            reject()
    return township


_SEPARATORS = re.compile(r"[\s\-]")


def _compact(text: str) -> str:
    """The text without spaces and hyphens, in upper case: 110105 19900102 123x → …123X."""
    return _SEPARATORS.sub("", text).upper()


def _found(value: str, kind: str, text: str, compact: str) -> bool:
    if kind == "special_tag" and value.isascii():
        # Tag codes are words: "disabled" must not match inside "is_disabled_by_admin".
        return re.search(rf"(?<![A-Za-z_]){re.escape(value)}(?![A-Za-z_])", text) is not None
    if kind in ("id_number", "phone"):
        return value in text or value.upper() in compact
    return value in text


def leaks(text: str, forbidden: dict[str, list[str]]) -> list[tuple[str, str]]:
    """``(kind, value)`` of every forbidden value that ``text`` contains."""
    compact = _compact(text)
    return [
        (kind, value)
        for kind, values in forbidden.items()
        for value in dict.fromkeys(values)
        if _found(value, kind, text, compact)
    ]
