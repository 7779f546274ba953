"""Base of every request body: an allow-list (privacy rule 1), and the schema says so.

msgspec rejects unknown fields when ``forbid_unknown_fields`` is set, but Litestar's schema
generator does not turn that into ``additionalProperties: false``; :func:`close_request_schemas`
patches the generated OpenAPI document so clients (and schemathesis) see the real contract.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final

import msgspec
from litestar import Litestar
from litestar.params import PathParameter

__all__ = [
    "PLAIN_TEXT",
    "PathText",
    "RequestBody",
    "check_storable_time",
    "close_request_schemas",
]

PLAIN_TEXT: Final = r"^[^\x00-\x1f\x7f]*$"
"""Pattern for free-text query and path parameters: no control characters. The same door as
:class:`RequestBody`'s, for text that arrives in the URL (a NUL reached PostgreSQL as a 500)."""
PathText = Annotated[str, PathParameter(pattern=PLAIN_TEXT)]
"""A path parameter naming something by a code (a category, a point rule, a scheme)."""


class RequestBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Subclass for every JSON request body.

    Text with control characters (NUL above all) is refused at the door: PostgreSQL cannot
    store NUL in text or jsonb, so an accepted event carrying one would stop every read model
    that folds it."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            if _has_control_chars(getattr(self, name)):
                raise ValueError(f"`{name}` contains control characters")


_CONTROL = frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\r"}


def _has_control_chars(value: object) -> bool:
    if isinstance(value, str):
        return not _CONTROL.isdisjoint(value)
    if isinstance(value, list | tuple):
        return any(_has_control_chars(v) for v in value)
    if isinstance(value, dict):
        return any(_has_control_chars(k) or _has_control_chars(v) for k, v in value.items())
    return False


_FIRST_DAY = datetime(1, 1, 2, tzinfo=UTC)
_LAST_DAY = datetime(9999, 12, 30, tzinfo=UTC)


def check_storable_time(name: str, value: datetime) -> None:
    """Refuse a time at the very edge of the calendar (year 1 or 9999; no phone clock reports
    one) where it is a fact the read models keep, not a clock reading they may drop: asyncpg
    writes the first and last instants as ``-infinity`` / ``infinity`` and reads them back
    without a zone, and cannot read back an earlier instant at all."""
    # A time without a zone is stored as UTC; comparing aware times never overflows.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not _FIRST_DAY <= aware < _LAST_DAY:
        raise ValueError(f"`{name}` is a time before 0001-01-02 or after 9999-12-29")


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def close_request_schemas(app: Litestar) -> None:
    schemas = app.openapi_schema.components.schemas or {}
    names = {cls.__name__ for cls in _subclasses(RequestBody)}
    for key, schema in schemas.items():
        if key.rsplit("_", 1)[-1] in names or key in names:
            schema.additional_properties = False
