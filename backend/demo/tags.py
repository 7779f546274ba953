"""Special-population tags at roughly the rates a township office sees them."""

from __future__ import annotations

import random
from typing import Final

from backend.demo.family import Member
from backend.ledger_import import TAG_CODES

_ORDER: Final[dict[str, int]] = {code: i for i, code in enumerate(TAG_CODES.values())}

# Per-person rates: (tag, minimum age, maximum age, probability).
_PERSON_RATES: Final[tuple[tuple[str, int, int, float], ...]] = (
    ("disabled", 0, 120, 0.02),
    ("chronic_illness", 45, 120, 0.09),
    ("mental_disorder", 18, 120, 0.003),
    ("released_prisoner", 20, 65, 0.0006),
    ("community_correction", 18, 65, 0.0004),
    ("party_member", 18, 120, 0.07),
)


def household_tags(rng: random.Random, members: list[Member]) -> list[list[str]]:
    """One tag list per member, in the order of ``members``."""
    shared = _shared_tags(rng)
    tags = [[*shared, *_person_tags(rng, m)] for m in members]
    _add_care_tags(rng, members, tags)
    return [sorted(set(t), key=_ORDER.__getitem__) for t in tags]


def _shared_tags(rng: random.Random) -> list[str]:
    # 低保 and 监测户 are granted to the whole household, so every member carries them.
    shared = []
    if rng.random() < 0.03:
        shared.append("dibao")
    if rng.random() < 0.01:
        shared.append("monitored")
    return shared


def _person_tags(rng: random.Random, member: Member) -> list[str]:
    tags = [
        tag
        for tag, low, high, rate in _PERSON_RATES
        if low <= member.age <= high and rng.random() < rate
    ]
    if member.gender == "male" and member.age >= 22 and rng.random() < 0.03:
        tags.append("veteran")
    return tags


def _add_care_tags(rng: random.Random, members: list[Member], tags: list[list[str]]) -> None:
    if len(members) == 1 and members[0].age >= 65 and rng.random() < 0.85:
        tags[0].append("solitary_elder")
        if rng.random() < 0.1:
            tags[0].append("tekun")
    if len(members) == 2 and all(m.age >= 65 for m in members) and rng.random() < 0.35:
        for member_tags in tags:
            member_tags.append("left_behind_elder")
    # 留守儿童: minors under 16 whose parents work away; tagged for the whole sibling group.
    if any(m.age < 16 for m in members) and rng.random() < 0.1:
        for member, member_tags in zip(members, tags, strict=True):
            if member.age < 16:
                member_tags.append("left_behind_child")
