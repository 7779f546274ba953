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
    """Subclass for every JSON request body."""


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
