"""The scope and authorisation matrices' shared parts: the call table, resource sets, policy.

``table`` says how each operation is called against a set, ``sets`` and ``build`` file a set
in a grid, ``matrix`` calls and judges, ``policy`` says which roles may call what in scope.
"""

from tests.support.scope_matrix.build import build_set
from tests.support.scope_matrix.matrix import (
    Cell,
    Operation,
    call,
    event_versions,
    leaked,
    operations,
    spare_view,
)
from tests.support.scope_matrix.sets import WORDS, Place, ResourceSet, Words, this_quarter
from tests.support.scope_matrix.table import (
    EXEMPT,
    FILTERS,
    KIND,
    PATH_PARAMS,
    TABLE,
    Call,
    Kind,
)

__all__ = [
    "EXEMPT",
    "FILTERS",
    "KIND",
    "PATH_PARAMS",
    "TABLE",
    "WORDS",
    "Call",
    "Cell",
    "Kind",
    "Operation",
    "Place",
    "ResourceSet",
    "Words",
    "build_set",
    "call",
    "event_versions",
    "leaked",
    "operations",
    "spare_view",
    "this_quarter",
]
