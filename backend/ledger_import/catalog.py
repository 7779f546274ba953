"""Value catalogs of the household ledger: tags, relations, genders.

The tag table lives here only until ``events/sensitivity.py`` publishes the canonical catalog;
everything in this package reads tags through ``TAG_CODES`` / ``TAG_LABELS`` so the swap is a
one-line import change.
"""

from __future__ import annotations

from typing import Final, Literal

Gender = Literal["male", "female", "unknown"]
Relation = Literal["head", "spouse", "child", "parent", "grandchild", "sibling", "other"]

# Canonical label → code, in catalog order (content hashes sort tags by this order).
TAG_CODES: Final[dict[str, str]] = {
    "低保": "dibao",
    "特困": "tekun",
    "监测户": "monitored",
    "留守儿童": "left_behind_child",
    "留守老人": "left_behind_elder",
    "独居老人": "solitary_elder",
    "残疾": "disabled",
    "慢性病": "chronic_illness",
    "严重精神障碍": "mental_disorder",
    "刑满释放": "released_prisoner",
    "社区矫正": "community_correction",
    "党员": "party_member",
    "退役军人": "veteran",
}
TAG_LABELS: Final[dict[str, str]] = {code: label for label, code in TAG_CODES.items()}
TAG_ORDER: Final[dict[str, int]] = {code: i for i, code in enumerate(TAG_LABELS)}

# Spellings found in real village ledgers for the same tags.
_TAG_ALIASES: Final[dict[str, str]] = {
    "低保户": "dibao",
    "五保": "tekun",
    "五保户": "tekun",
    "特困供养": "tekun",
    "特困人员": "tekun",
    "防返贫监测户": "monitored",
    "残疾人": "disabled",
    "精神障碍": "mental_disorder",
    "中共党员": "party_member",
    "预备党员": "party_member",
}
TAG_LOOKUP: Final[dict[str, str]] = {
    **TAG_CODES,
    **_TAG_ALIASES,
    **{code: code for code in TAG_LABELS},
}

RELATION_LABELS: Final[dict[Relation, str]] = {
    "head": "户主",
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "grandchild": "孙子女",
    "sibling": "兄弟姐妹",
    "other": "其他",
}
# 户口簿 wording varies ("本人", "妻", "长子" …); all of these mean one of the seven relations.
_RELATION_ALIASES: Final[dict[str, Relation]] = {
    "本人": "head",
    "妻": "spouse",
    "妻子": "spouse",
    "夫": "spouse",
    "丈夫": "spouse",
    "子": "child",
    "女": "child",
    "儿子": "child",
    "女儿": "child",
    "长子": "child",
    "次子": "child",
    "长女": "child",
    "次女": "child",
    "父亲": "parent",
    "母亲": "parent",
    "父": "parent",
    "母": "parent",
    "孙子": "grandchild",
    "孙女": "grandchild",
    "外孙子": "grandchild",
    "外孙女": "grandchild",
    "兄": "sibling",
    "弟": "sibling",
    "姐": "sibling",
    "妹": "sibling",
}
RELATION_LOOKUP: Final[dict[str, Relation]] = {
    **{label: code for code, label in RELATION_LABELS.items()},
    **_RELATION_ALIASES,
    **{code: code for code in RELATION_LABELS},
}

GENDER_LABELS: Final[dict[Gender, str]] = {"male": "男", "female": "女", "unknown": ""}
GENDER_LOOKUP: Final[dict[str, Gender]] = {
    "男": "male",
    "男性": "male",
    "女": "female",
    "女性": "female",
    "male": "male",
    "female": "female",
    "m": "male",
    "f": "female",
}
