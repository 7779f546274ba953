"""Server-side masking (privacy.md rules 3 and 4). Pure functions, no reveal/audit here.

Masking formats (rule 4): names 张* / 张*三 / 欧阳*明 (one ``*`` per hidden character, the
surname — single or compound — and, from three characters on, the last character stay),
mobiles 138****1234, ID numbers 110***********1234, addresses keep their first half (at most 8
characters) followed by ``****``.

Role rules of :func:`mask_person` (the caller has already checked grid scope, rule 2):

* In-scope field roles ``grid_member``, ``grid_head``, ``supervisor``, ``mediator`` see the full
  name, gender, relation, birth date and address (they visit the household), but phone and ID
  number masked — a full value only through an audited reveal.
* Special-population tags (``TagSpec.special_population``) are shown only when ``need_to_know``
  (the person is assigned to the viewer); otherwise they collapse into one ``attention``
  (关注对象) marker without the type. S1 tags (党员, 退役军人) are always shown.
* A minor under 14 is S3 as a whole: without ``need_to_know`` the name is masked and the birth
  date withheld.
* Review roles ``auditor`` and ``admin`` see everything masked and special tags collapsed
  whatever ``need_to_know`` says: they verify records, they do not care for people, and a full
  value needs a reveal with a reason.
* Any other role (``public``, ``system``…) is refused: the public board has its own profile.

Unknown keys in the input are dropped (allow-list, rule 1).
"""

from collections.abc import Callable
from datetime import date
from typing import Final

from events.errors import InvalidValue
from events.sensitivity import PERSON_TAGS, is_minor

__all__ = [
    "ATTENTION_LABEL",
    "ATTENTION_TAG",
    "COMPOUND_SURNAMES",
    "FIELD_ROLES",
    "REVIEW_ROLES",
    "collapse_tags",
    "mask_address",
    "mask_id_number",
    "mask_name",
    "mask_person",
    "mask_phone",
]

ATTENTION_TAG: Final = "attention"
ATTENTION_LABEL: Final = "关注对象"
FIELD_ROLES: Final = frozenset({"grid_member", "grid_head", "supervisor", "mediator"})
REVIEW_ROLES: Final = frozenset({"auditor", "admin"})

# Common two-character surnames (复姓); a name starting with one keeps both characters.
_COMPOUND_SURNAMES_TEXT: Final = (
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 澹台 端木 轩辕 "
    "西门 独孤 南宫 万俟 呼延 申屠 钟离 闻人 赫连 太史 公羊 濮阳 淳于 单于 拓跋 百里 东郭 "
    "司空 第五 左丘 谷梁 段干 公冶 宗政 仲孙 乐正"
)
COMPOUND_SURNAMES: Final = frozenset(_COMPOUND_SURNAMES_TEXT.split())

_PERSON_KEYS: Final = (
    "person_id",
    "name",
    "gender",
    "relation",
    "birth_date",
    "phone",
    "id_number",
    "address",
    "tags",
)


def mask_name(name: str) -> str:
    """张三 → 张*, 张三丰 → 张*丰, 欧阳明 → 欧阳*, 欧阳晓明 → 欧阳*明."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    surname_len = 2 if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES else 1
    given = name[surname_len:]
    if len(given) == 1:
        return name[:surname_len] + "*"
    return name[:surname_len] + "*" * (len(given) - 1) + given[-1]


def _keep_ends(value: str, head: int, tail: int) -> str:
    """Keep head/tail characters; values too short to keep both are fully hidden."""
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


def mask_phone(phone: str) -> str:
    """13812341234 → 138****1234."""
    return _keep_ends(phone.strip(), 3, 4)


def mask_id_number(id_number: str) -> str:
    """110105194912310021 → 110***********0021."""
    return _keep_ends(id_number.strip(), 3, 4)


def mask_address(address: str) -> str:
    """Keep the coarse part (town/village), hide the house number."""
    address = address.strip()
    return address[: min(len(address) // 2, 8)] + "****" if address else ""


def collapse_tags(tags: list[str] | tuple[str, ...], *, need_to_know: bool) -> list[str]:
    """Unknown tags are dropped; special tags become one ``attention`` unless need-to-know."""
    known = [t for t in tags if t in PERSON_TAGS]
    if need_to_know:
        return known
    visible = [t for t in known if not PERSON_TAGS[t].special_population]
    if len(visible) < len(known):
        visible.append(ATTENTION_TAG)
    return visible


_MASKERS: Final[dict[str, Callable[[str], str]]] = {
    "name": mask_name,
    "phone": mask_phone,
    "id_number": mask_id_number,
    "address": mask_address,
}


def _masked(value: object, key: str) -> object:
    if not isinstance(value, str):
        return value  # None stays None: "no phone" is not secret
    return _MASKERS[key](value)


def _birth_date(view: dict[str, object]) -> date | None:
    value = view.get("birth_date")
    if isinstance(value, str):
        return date.fromisoformat(value)
    return value if isinstance(value, date) else None


def _masked_keys(*, review: bool, minor_hidden: bool) -> list[str]:
    keys = ["phone", "id_number"]  # never in full outside an audited reveal
    if review or minor_hidden:
        keys.append("name")
    if review:
        keys.append("address")
    return keys


def mask_person(
    person_view: dict[str, object], *, role: str, need_to_know: bool, on: date
) -> dict[str, object]:
    """A copy of ``person_view`` masked for ``role`` (see the module docstring)."""
    if role not in FIELD_ROLES | REVIEW_ROLES:
        raise InvalidValue("role may not view person records", field="role", role=role)
    out: dict[str, object] = {k: person_view[k] for k in _PERSON_KEYS if k in person_view}
    review = role in REVIEW_ROLES
    minor_hidden = is_minor(_birth_date(person_view), on) and not need_to_know
    for key in _masked_keys(review=review, minor_hidden=minor_hidden):
        if key in out:
            out[key] = _masked(out[key], key)
    if (review or minor_hidden) and "birth_date" in out:
        out["birth_date"] = None
    tags = out.get("tags")
    if isinstance(tags, list | tuple):
        str_tags = [t for t in tags if isinstance(t, str)]
        out["tags"] = collapse_tags(str_tags, need_to_know=need_to_know and not review)
    return out
