"""Resource sets for the scope matrices: a grid's households, staff, field work and cases.

One builder files the same things in any grid of any township, each set with its own secret
words (names, street, phones), so a response can be searched for the words of every set the
caller must not see. Spare resources take the in-scope calls that end something for good
(relieve, retire, dissolve, move), so those never disturb the set the other calls aim at.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from events.holidays import CHINA_TZ
from events.privacy import mask_name
from tests.support.households import unique_no

__all__ = ["SPARE_DEVICE", "WORDS", "Place", "ResourceSet", "Words", "png", "this_quarter"]

SPARE_DEVICE = "device-spare"


@dataclass(frozen=True)
class Words:
    """What one set files about its residents; all of it is secret outside the set's scope."""

    head: str
    spouse: str
    street: str
    phone: str
    head_phone: str

    def secrets(self) -> list[str]:
        masked = [f"{p[:3]}****{p[-4:]}" for p in (self.phone, self.head_phone)]
        names = [self.head, self.spouse, mask_name(self.head), mask_name(self.spouse)]
        return [*names, self.street, self.phone, *masked]


WORDS = {
    "a1": Words("欧阳秘户", "司马秘妻", "甲村秘密巷", "13512345678", "13687654321"),
    "b1": Words("诸葛乙户", "上官乙妻", "乙村秘密巷", "13522223333", "13644445555"),
    "other": Words("东方外户", "慕容外妻", "外镇秘密巷", "13566667777", "13688889999"),
}


@dataclass(frozen=True)
class Place:
    """Where a set is filed: world keys of its grid, village, member and deciding manager,
    and of a grid and village elsewhere in the same town (targets of moves)."""

    grid: str = "grid_a1"
    village: str = "village_a"
    member: str = "member_a1"
    decider: str = "head_a"
    elsewhere_grid: str = "grid_b1"
    elsewhere_village: str = "village_b"
    nearby_grid: str = "grid_a2"  # in the village: where an in-scope move may go
    # the grid's own member is the one caller in scope of the set: the builder dispatches
    # its spare case to them and publishes the village board, for their calls to find
    # grid and staff names repeat in every World; they are secret only where unique
    names_are_secret: bool = True
    member_alone: bool = False


@dataclass
class ResourceSet:
    """One grid's resources, and the words of it that must never reach an outsider."""

    label: str
    unit_id: str
    grid_code: str
    village_id: str
    elsewhere_grid_id: str
    elsewhere_village_id: str
    nearby_grid_id: str
    staff_id: str
    device_id: str
    household_id: str
    household_version: int
    head_id: str
    spouse_id: str
    conflict_id: str
    secrets: list[str]
    head_name: str = ""
    photo: bytes = b""
    sha256: str = ""
    visit_id: str = ""
    mediation_id: str = ""
    award_id: str = ""
    redemption_id: str = ""
    rule_code: str = ""
    case_id: str = ""  # a case the member reported, overdue and escalated
    edition_id: str = ""  # a draft notice-board edition of the set's village
    held_event_id: str = ""  # the member's pushed visit, held for review
    scheme: str = "township"  # an assessment scheme in force for this quarter
    code: str = "hazard"  # reference data by code: a default case category
    year: str = "2026"  # a built-in calendar year
    spares: dict[str, str] = field(default_factory=dict)

    def path_values(self) -> dict[str, str]:
        return {
            "unit_id": self.unit_id,
            "staff_id": self.staff_id,
            "household_id": self.household_id,
            "person_id": self.spouse_id,
            "conflict_id": self.conflict_id,
            "sha256": self.sha256,
            "visit_id": self.visit_id,
            "mediation_id": self.mediation_id,
            "award_id": self.award_id,
            "owner_kind": "household",
            "owner_id": self.household_id,
            "redemption_id": self.redemption_id,
            "case_id": self.case_id,
            "edition_id": self.edition_id,
            # reference data by code, and a calendar year
            "code": self.code,
            "year": self.year,
            # the evidence log: an early stored event (auditors only)
            "position": "1",
            # assessments: the quarter the set's field work lands in (server time)
            "period": this_quarter(),
            # sync review: the member's held push
            "event_id": self.held_event_id,
        }

    def aggregate_ids(self) -> list[UUID]:
        """Every aggregate the set filed (its writes must leave them all as they were)."""
        found = [self.unit_id, self.staff_id, self.household_id, self.visit_id, self.case_id]
        found += [self.mediation_id, self.award_id, self.edition_id, self.held_event_id]
        found += self.spares.values()
        return [UUID(value) for value in found if _is_uuid(value)]


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def this_quarter() -> str:
    today = datetime.now(CHINA_TZ).date()  # the business date (Asia/Shanghai by default)
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def png(tag: str) -> bytes:
    """A valid 1×1 PNG, different per set (a tEXt chunk with a random word)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    note = b"Comment\x00" + unique_no(tag).encode()
    body = chunk(b"IHDR", header) + chunk(b"tEXt", note) + chunk(b"IDAT", pixels)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b"")
