"""gridledger write model: aggregates, event payload types, invariants, privacy rules.

Pure: imports only the standard library, eventsourcing and msgspec (DESIGN §3).
"""

from events.errors import (
    BindingCodeInvalid,
    DomainError,
    InvalidGridCode,
    InvalidTransition,
    InvalidValue,
    NotFound,
    StaleBaseVersion,
)
from events.grid import GridLevel, GridPeriod, GridUnit, GridUnitSnapshot, validate_grid_code
from events.household import Household
from events.household_fields import (
    Conflict,
    FieldChange,
    Gender,
    GridAssignment,
    PersonRecord,
    Relation,
    RemovalReason,
)
from events.meta import SYSTEM_META, EventMeta, system_meta
from events.privacy import (
    ATTENTION_TAG,
    mask_address,
    mask_id_number,
    mask_name,
    mask_person,
    mask_phone,
)
from events.sensitivity import (
    HOUSEHOLD_FIELDS,
    PERSON_FIELDS,
    PERSON_TAGS,
    Sensitivity,
    TagSpec,
    is_minor,
    is_under_18,
)
from events.staff import STAFF_ROLES, Assignment, BindingCode, Staff, StaffRole
from events.validation import validate_id_number

__all__ = [
    "ATTENTION_TAG",
    "HOUSEHOLD_FIELDS",
    "PERSON_FIELDS",
    "PERSON_TAGS",
    "STAFF_ROLES",
    "SYSTEM_META",
    "Assignment",
    "BindingCode",
    "BindingCodeInvalid",
    "Conflict",
    "DomainError",
    "EventMeta",
    "FieldChange",
    "Gender",
    "GridAssignment",
    "GridLevel",
    "GridPeriod",
    "GridUnit",
    "GridUnitSnapshot",
    "Household",
    "InvalidGridCode",
    "InvalidTransition",
    "InvalidValue",
    "NotFound",
    "PersonRecord",
    "Relation",
    "RemovalReason",
    "Sensitivity",
    "Staff",
    "StaffRole",
    "StaleBaseVersion",
    "TagSpec",
    "is_minor",
    "is_under_18",
    "mask_address",
    "mask_id_number",
    "mask_name",
    "mask_person",
    "mask_phone",
    "system_meta",
    "validate_grid_code",
    "validate_id_number",
]
