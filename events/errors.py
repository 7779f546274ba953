"""Domain errors with stable ``errcode`` values (DESIGN §3: errors map to HTTP in one place).

The backend turns a :class:`DomainError` into ``{"errcode": ..., "errmsg": ..., **details}``.
The first three digits of an errcode are the HTTP status it maps to; the codes are part of the
public contract with the mini-program and must never be renumbered.

=========  ==================  =================================================
errcode    class               meaning
=========  ==================  =================================================
40000      DomainError         generic domain rule violation (base class)
40010      InvalidValue        a field value breaks a format or invariant
40011      InvalidGridCode     a grid code does not fit its level / parent
40130      BindingCodeInvalid  WeChat binding code missing/wrong/expired/used
40400      NotFound            the referenced thing does not exist
40910      InvalidTransition   command not allowed in the current state
40920      StaleBaseVersion    base_version is not a version of the aggregate
=========  ==================  =================================================
"""

from typing import ClassVar

__all__ = [
    "BindingCodeInvalid",
    "DomainError",
    "InvalidGridCode",
    "InvalidTransition",
    "InvalidValue",
    "NotFound",
    "StaleBaseVersion",
]


class DomainError(Exception):
    """Base of all domain errors. errcode 40000 (HTTP 400).

    ``details`` is merged into the error body, so it must hold only JSON-safe values and never
    personal data (error bodies end up in logs).
    """

    errcode: ClassVar[int] = 40000

    def __init__(self, errmsg: str, **details: object) -> None:
        super().__init__(errmsg)
        self.errmsg = errmsg
        self.details: dict[str, object] = details

    def to_body(self) -> dict[str, object]:
        """The mini-program style error body."""
        return {**self.details, "errcode": self.errcode, "errmsg": self.errmsg}


class InvalidValue(DomainError):
    """errcode 40010: a value breaks a format rule or an invariant (empty name, bad ID number,
    unknown tag or path, effective date going backwards, two heads of household)."""

    errcode: ClassVar[int] = 40010


class InvalidGridCode(InvalidValue):
    """errcode 40011: a grid code has the wrong length for its level, does not extend its
    parent's code, or the parent is not exactly one level up."""

    errcode: ClassVar[int] = 40011


class BindingCodeInvalid(DomainError):
    """errcode 40130 (HTTP 401): a WeChat binding code is missing, does not match, has expired
    or was already used. ``details["reason"]`` says which; the hashes are never echoed."""

    errcode: ClassVar[int] = 40130


class NotFound(DomainError):
    """errcode 40400: the referenced aggregate, person or conflict does not exist."""

    errcode: ClassVar[int] = 40400


class InvalidTransition(DomainError):
    """errcode 40910 (HTTP 409): the command is not allowed in the current state, e.g. acting on
    a retired grid unit, a relieved staff member or a dissolved household, or resolving a
    conflict twice. ``details["state"]`` holds the current state."""

    errcode: ClassVar[int] = 40910


class StaleBaseVersion(DomainError):
    """errcode 40920 (HTTP 409): an offline edit names a base_version the aggregate never had
    (greater than the current version, or below 1). ``details`` has both versions."""

    errcode: ClassVar[int] = 40920
