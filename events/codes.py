"""Aggregates whose id is derived from a code an administrator gives them.

Grid units, case categories, point rules and assessment schemes are named by stable codes that
are never reused, so their ids are uuid5 of the code: any process (a phone, an importer, a
seeder racing another) computes the same id, and defining one twice is caught by the event
store's unique (id, version) instead of by a lookup.
"""

from typing import ClassVar
from uuid import UUID, uuid5

__all__ = ["CodeKeyed"]


class CodeKeyed:
    """Mix in before ``Aggregate``; set ``id_namespace`` and ``id_prefix`` (never change them:
    stored ids depend on both)."""

    id_namespace: ClassVar[UUID]
    id_prefix: ClassVar[str]

    @classmethod
    def create_id(cls, code: str) -> UUID:
        """eventsourcing hook: the id derives from the code."""
        return uuid5(cls.id_namespace, cls.id_prefix + code)

    @classmethod
    def id_for_code(cls, code: str) -> UUID:
        return cls.create_id(code.strip())
