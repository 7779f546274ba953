"""Reference data managed by admins: case categories (事件分类).

Reference data syncs to phones in the reference-data bucket (DESIGN §5); the aggregate version
is its revision, so a phone can tell which label it holds. The id derives from the code, so a
code is defined once and never reused: defining it again collides in the event store even
after retirement (old cases keep pointing at it).

Categories form a two-level tree: a top-level category (``dispute``) and optional
sub-categories (``neighbour_dispute``). A retired category stays readable but accepts no
change; the backend refuses new cases in it.
"""

import re
from typing import Final, Self
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, event

from events.codes import CodeKeyed
from events.errors import InvalidTransition, InvalidValue
from events.meta import EventMeta
from events.validation import validate_text

__all__ = [
    "DEFAULT_CATEGORIES",
    "REFERENCE_NAMESPACE",
    "CaseCategory",
    "CategorySpec",
    "validate_category_code",
]

REFERENCE_NAMESPACE: Final = UUID("e4964a3f-e769-41b3-b37d-8acf22074068")
LABEL_MAX: Final = 32
_CODE: Final = re.compile(r"[a-z][a-z0-9_]{1,31}")


class CategorySpec(msgspec.Struct, frozen=True, kw_only=True):
    """A category to seed; parents come before their children in a sequence of specs."""

    code: str
    label: str
    parent_code: str | None = None
    mediation_eligible: bool = False


DEFAULT_CATEGORIES: Final[tuple[CategorySpec, ...]] = (
    CategorySpec(code="hazard", label="隐患"),
    CategorySpec(code="dispute", label="矛盾纠纷", mediation_eligible=True),
    CategorySpec(code="livelihood", label="民生诉求"),
    CategorySpec(code="sanitation", label="环境卫生"),
    CategorySpec(code="public_order", label="治安"),
    CategorySpec(code="errand", label="代办"),
    CategorySpec(code="fire_hazard", label="消防隐患", parent_code="hazard"),
    CategorySpec(
        code="neighbour_dispute", label="邻里纠纷", parent_code="dispute", mediation_eligible=True
    ),
    CategorySpec(
        code="family_dispute", label="婚姻家庭纠纷", parent_code="dispute", mediation_eligible=True
    ),
)


def validate_category_code(code: str) -> str:
    """A lower-case snake_case code of 2..32 characters."""
    code = code.strip()
    if not _CODE.fullmatch(code):
        raise InvalidValue("category code must be snake_case, 2..32 characters", field="code")
    return code


class CaseCategory(CodeKeyed, Aggregate):
    """A case category: code, label, optional parent, whether mediation applies."""

    id_namespace = REFERENCE_NAMESPACE
    id_prefix = "case-category:"

    class Defined(Aggregate.Created):
        code: str
        label: str
        parent_code: str | None
        mediation_eligible: bool
        meta: EventMeta

    class Relabelled(Aggregate.Event):
        label: str
        meta: EventMeta

    class Retired(Aggregate.Event):
        reason: str
        meta: EventMeta

    @classmethod
    def define(
        cls,
        *,
        code: str,
        label: str,
        mediation_eligible: bool,
        meta: EventMeta,
        parent: "CaseCategory | None" = None,
    ) -> Self:
        """Define a category; ``parent`` is the loaded top-level category, if any."""
        code = validate_category_code(code)
        if parent is not None:
            _check_parent(parent, code)
        return cls(
            code=code,
            label=validate_text(label, field="label", max_len=LABEL_MAX),
            parent_code=parent.code if parent else None,
            mediation_eligible=mediation_eligible,
            meta=meta,
        )

    @classmethod
    def from_spec(
        cls, spec: CategorySpec, *, meta: EventMeta, parent: "CaseCategory | None" = None
    ) -> Self:
        """Seed from a spec (e.g. :data:`DEFAULT_CATEGORIES`)."""
        if spec.parent_code != (parent.code if parent else None):
            raise InvalidValue("parent does not match the spec", field="parent_code")
        return cls.define(
            code=spec.code,
            label=spec.label,
            mediation_eligible=spec.mediation_eligible,
            meta=meta,
            parent=parent,
        )

    @event(Defined)
    def __init__(
        self,
        code: str,
        label: str,
        parent_code: str | None,
        mediation_eligible: bool,
        meta: EventMeta,
    ) -> None:
        self.code = code
        self.label = label
        self.parent_code = parent_code
        self.mediation_eligible = mediation_eligible
        self.active = True

    # -- commands --------------------------------------------------------------------------

    def relabel(self, label: str, *, meta: EventMeta) -> None:
        """Change the label shown on phones and boards; the same label is a no-op."""
        self._check_active()
        label = validate_text(label, field="label", max_len=LABEL_MAX)
        if label != self.label:
            self._relabelled(label=label, meta=meta)

    def retire(self, reason: str, *, meta: EventMeta) -> None:
        """Stop offering the category for new cases; final."""
        self._check_active()
        self._retired(reason=validate_text(reason, field="reason", max_len=200), meta=meta)

    def _check_active(self) -> None:
        if not self.active:
            raise InvalidTransition("case category is retired", state="retired", code=self.code)

    # -- event appliers (also run on replay: no validation here) ----------------------------

    @event(Relabelled)
    def _relabelled(self, label: str, meta: EventMeta) -> None:
        self.label = label

    @event(Retired)
    def _retired(self, reason: str, meta: EventMeta) -> None:
        self.active = False


def _check_parent(parent: CaseCategory, code: str) -> None:
    # Two levels keep the phone's picker flat enough to use with one thumb.
    if parent.parent_code is not None:
        raise InvalidValue("a parent must be a top-level category", field="parent_code")
    if parent.code == code:
        raise InvalidValue("a category cannot be its own parent", field="parent_code")
    if not parent.active:
        raise InvalidTransition("parent category is retired", state="retired", code=parent.code)
