"""The last gate before a notice-board edition is published: scan the frozen content.

The composer builds content from masked, public-profile queries, but free text reaches the
board too (the composer's notes, category labels an admin typed, unit names), and a bug in a
query must not become a leak. So the exact JSON that would be published is scanned for what
privacy rule 5 forbids, by pattern and by known values:

* 18-digit (and old 15-digit) ID numbers, also masked ones (110***********1234);
* 11-digit mobiles that are not a staff work phone (separators ``-``/space tolerated);
* URLs and object-store addresses (http(s)://, s3://, www., 64-hex content digests);
* special-population tag labels and codes, and the 关注对象 marker;
* full names of minors and special-population persons known from the household files;
* any resident's full name and exact address (names must be masked), except in the fields
  that name staff (contacts, ranking), who may share a name with a resident.

Findings name the JSON path and the kind of problem, never the value (error bodies are logged).
The checkpoint section is cryptographic data (a root digest and a signed note) and is exempt
from the digest and URL checks only; unit ids and grid codes are structural and not scanned.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from events.privacy import ATTENTION_LABEL, ATTENTION_TAG
from events.sensitivity import PERSON_TAGS

__all__ = ["Finding", "ProtectedValues", "scan_content"]

_ID_NUMBER: Final = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9Xx])")
_MASKED_ID: Final = re.compile(r"[0-9]{3,6}\*{6,}[0-9]{3}[0-9Xx*]")
_MOBILE: Final = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_SEPARATED: Final = re.compile(r"(?<=[0-9])[ \-\u00a0]+(?=[0-9])")
_URL: Final = re.compile(r"(?i)(?:[a-z][a-z0-9+.-]*://|www\.|\bs3\.|/media/)")
_DIGEST: Final = re.compile(r"(?i)(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
_SPECIAL_LABELS: Final = tuple(
    [t.label for t in PERSON_TAGS.values() if t.special_population]
    + ["特困", "五保", "精神障碍", "精神病", ATTENTION_LABEL]
)
_SPECIAL_CODES: Final = re.compile(
    r"\b(?:"
    + "|".join(re.escape(t.code) for t in PERSON_TAGS.values() if t.special_population)
    + f"|{ATTENTION_TAG})\\b"
)
_CRYPTO_SECTION: Final = "checkpoint"
_STAFF_NAME: Final = re.compile(r"(?:grids\[\d+\]\.contacts\[\d+\]|ranking\[\d+\])\.name")
# Identifiers from the grid tree (validated digit codes and UUIDs, never typed free text): a
# 15-digit grid code would otherwise look like an old ID number.
_STRUCTURAL: Final = frozenset({"unit_id", "unit_code", "code"})


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    kind: str


@dataclass(frozen=True, kw_only=True)
class ProtectedValues:
    """What is known to be protected, from the read models at publication time."""

    staff_phones: frozenset[str]
    protected_names: frozenset[str]
    """Minors and special-population persons: refused anywhere in the content."""
    resident_names: frozenset[str] = frozenset()
    """Every resident: refused outside the fields that name staff."""
    addresses: frozenset[str] = frozenset()


def scan_content(content: Any, known: ProtectedValues) -> list[Finding]:
    """Every protected field found in ``content`` (plain JSON data), de-duplicated."""
    found: dict[tuple[str, str], Finding] = {}
    for path, text in _strings(content, ""):
        if path.rsplit(".", 1)[-1] in _STRUCTURAL:
            continue
        crypto = path.split(".", 1)[0].split("[", 1)[0] == _CRYPTO_SECTION
        staff = _STAFF_NAME.fullmatch(path) is not None
        for kind in _kinds(text, known, crypto=crypto, staff=staff):
            found.setdefault((path, kind), Finding(path=path, kind=kind))
    return list(found.values())


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _kinds(text: str, known: ProtectedValues, *, crypto: bool, staff: bool) -> Iterator[str]:
    compact = _SEPARATED.sub("", text)
    if _ID_NUMBER.search(compact) or _MASKED_ID.search(text):
        yield "id_number"
    if any(m.group(0) not in known.staff_phones for m in _MOBILE.finditer(compact)):
        yield "resident_phone"
    if not crypto and (_URL.search(text) or _DIGEST.search(text)):
        yield "url_or_object"
    if any(label in text for label in _SPECIAL_LABELS) or _SPECIAL_CODES.search(text):
        yield "special_population"
    if any(name in text for name in known.protected_names):
        yield "protected_person"
    if not staff and any(name in text for name in known.resident_names):
        yield "resident_name"
    if any(address in text for address in known.addresses):
        yield "address"
