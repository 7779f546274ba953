"""Base of every request body: an allow-list (privacy rule 1), and the schema says so.

msgspec rejects unknown fields when ``forbid_unknown_fields`` is set, but Litestar's schema
generator does not turn that into ``additionalProperties: false``; :func:`close_request_schemas`
patches the generated OpenAPI document so clients (and schemathesis) see the real contract.
"""

from __future__ import annotations

import msgspec
from litestar import Litestar

__all__ = ["RequestBody", "close_request_schemas"]


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
