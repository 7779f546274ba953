"""Household compositions: who lives together, with relations that fit their ages."""

from __future__ import annotations

import random
from typing import Final, NamedTuple

from backend.ledger_import import Gender, Relation

# Registered rural households (户籍户) run larger than census households: mean ≈ 3.7.
SIZE_WEIGHTS: Final[tuple[int, ...]] = (8, 17, 20, 24, 17, 9, 5)  # sizes 1–7


class Member(NamedTuple):
    relation: Relation
    age: int
    gender: Gender


def plan_household(rng: random.Random) -> list[Member]:
    """The members of one household, head first."""
    size = rng.choices(range(1, 8), weights=SIZE_WEIGHTS)[0]
    head = Member("head", _head_age(rng, size), "male" if rng.random() < 0.78 else "female")
    members = [head]
    if size > 1 and rng.random() < 0.85:
        members.append(_spouse(rng, head))
    while len(members) < size:
        members.append(_next_member(rng, head, members))
    return members


def _head_age(rng: random.Random, size: int) -> int:
    if size == 1:
        return rng.randint(62, 92) if rng.random() < 0.55 else rng.randint(22, 61)
    if size == 2:
        return rng.randint(55, 86) if rng.random() < 0.5 else rng.randint(24, 54)
    if size >= 5:
        return rng.randint(38, 78)
    return rng.randint(26, 75)


def _spouse(rng: random.Random, head: Member) -> Member:
    gender: Gender = "female" if head.gender == "male" else "male"
    return Member("spouse", max(20, head.age + rng.randint(-5, 5)), gender)


def _random_gender(rng: random.Random) -> Gender:
    return "male" if rng.random() < 0.52 else "female"


def _next_member(rng: random.Random, head: Member, members: list[Member]) -> Member:
    children = [m for m in members if m.relation == "child"]
    if head.age >= 55:
        return _older_family_member(rng, head, children)
    if len(children) < 3 and head.age >= 21:
        return Member(
            "child", rng.randint(max(0, head.age - 38), head.age - 21), _random_gender(rng)
        )
    parents = sum(1 for m in members if m.relation == "parent")
    if parents < 2 and head.age + 22 <= 96:
        gender: Gender = "male" if parents == 0 else "female"
        return Member("parent", min(96, head.age + rng.randint(22, 30)), gender)
    return _sibling(rng, head)


def _older_family_member(rng: random.Random, head: Member, children: list[Member]) -> Member:
    # Older heads live with grown children and their grandchildren.
    youngest_adult_child = min((c.age for c in children), default=0)
    if len(children) >= 2 and youngest_adult_child >= 22:
        return Member("grandchild", rng.randint(0, youngest_adult_child - 20), _random_gender(rng))
    return Member("child", head.age - rng.randint(22, 32), _random_gender(rng))


def _sibling(rng: random.Random, head: Member) -> Member:
    return Member("sibling", max(0, head.age + rng.randint(-8, 8)), _random_gender(rng))
