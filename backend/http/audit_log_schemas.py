"""Wire types of the evidence log endpoints (responses are the service's Structs)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import QueryParameter

from backend.http.wire import RequestBody

__all__ = ["KeptCheckpointBody", "OptionalTreeSize", "Reason", "TreeSize"]

# Bounded well inside PostgreSQL's bigint, so no value reaches the database unrepresentable.
_MAX = 2**53
TreeSize = Annotated[int, QueryParameter(ge=0, le=_MAX, description="Tree size (leaves)")]
OptionalTreeSize = Annotated[
    int | None, QueryParameter(ge=0, le=_MAX, description="Tree size (default: the latest)")
]
Reason = Annotated[
    str | None,
    QueryParameter(
        min_length=1, max_length=200, description="Why you read this (kept in the access audit)"
    ),
]


class KeptCheckpointBody(RequestBody):
    """A checkpoint someone kept, exactly as it was published (the whole signed note)."""

    checkpoint: Annotated[str, msgspec.Meta(min_length=1, max_length=8192)]
