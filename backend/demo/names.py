"""Plausible Chinese personal names, drawn deterministically from a seeded ``random.Random``."""

from __future__ import annotations

import random
from itertools import accumulate
from typing import Final

from backend.ledger_import import Gender

# Common surnames with rough relative frequencies (per mille of the population), plus a few
# compound surnames so masking and sorting code meets them in demo data.
_SURNAMES: Final[tuple[tuple[str, float], ...]] = (
    ("王", 72),
    ("李", 71),
    ("张", 69),
    ("刘", 54),
    ("陈", 46),
    ("杨", 32),
    ("黄", 25),
    ("赵", 20),
    ("吴", 20),
    ("周", 19),
    ("徐", 13),
    ("孙", 12),
    ("马", 12),
    ("朱", 11),
    ("胡", 10),
    ("郭", 10),
    ("何", 9),
    ("林", 9),
    ("罗", 8),
    ("高", 8),
    ("郑", 8),
    ("梁", 7),
    ("谢", 6),
    ("宋", 5),
    ("唐", 5),
    ("许", 5),
    ("韩", 5),
    ("冯", 5),
    ("邓", 5),
    ("曹", 4),
    ("彭", 4),
    ("曾", 4),
    ("肖", 4),
    ("田", 4),
    ("董", 4),
    ("潘", 3),
    ("袁", 3),
    ("蔡", 3),
    ("蒋", 3),
    ("余", 3),
    ("于", 3),
    ("杜", 3),
    ("叶", 3),
    ("程", 3),
    ("魏", 3),
    ("苏", 3),
    ("吕", 3),
    ("丁", 3),
    ("任", 2),
    ("骆", 2),
    ("姚", 2),
    ("卢", 2),
    ("傅", 2),
    ("钟", 2),
    ("金", 2),
    ("楼", 2),
    ("欧阳", 0.4),
    ("司马", 0.1),
    ("上官", 0.1),
    ("诸葛", 0.1),
)
_SURNAME_LIST: Final[tuple[str, ...]] = tuple(s for s, _ in _SURNAMES)
_SURNAME_CUM: Final[tuple[float, ...]] = tuple(accumulate(w for _, w in _SURNAMES))

_MALE: Final[str] = (
    "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦奇翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士建家致树炎德行泰盛雄琛钧冠策腾楠航弘"
)
_FEMALE: Final[str] = (
    "秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞佳嘉琼勤珍贞莉桂娣叶璐娅琦晶妍茜秋珊莎锦青倩婷姣婉娴瑾颖露瑶怡雁蓓仪荷丹蓉君琴蕊薇菁梦岚苑婕馨韵园咏卿澜纯悦昭冰琬茗羽希欣滢筠柔竹凝晓欢枫芸菲伊亚宜可舒丽阳妮晴睿雯萱彦宇雨曼紫逸贤"
)


class NameMaker:
    """Draws names; all randomness comes from the ``random.Random`` handed in."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def surname(self) -> str:
        return self._rng.choices(_SURNAME_LIST, cum_weights=_SURNAME_CUM)[0]

    def given(self, gender: Gender) -> str:
        pool = _FEMALE if gender == "female" else _MALE
        # About one in six given names has a single character (王伟, 李娜).
        length = 1 if self._rng.random() < 0.17 else 2
        return "".join(self._rng.choice(pool) for _ in range(length))

    def full(self, gender: Gender, surname: str | None = None) -> str:
        return (surname or self.surname()) + self.given(gender)
