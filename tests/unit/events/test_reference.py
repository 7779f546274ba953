"""Stories of the case categories (reference data): seeding, relabelling, retirement."""

from collections.abc import Sequence
from uuid import UUID

import pytest
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.popo import POPOAggregateRecorder

from events import (
    DEFAULT_CATEGORIES,
    CaseCategory,
    CategorySpec,
    InvalidTransition,
    InvalidValue,
)
from tests.unit.events.conftest import meta


def seed() -> dict[str, CaseCategory]:
    """Seed the defaults in order (parents come first)."""
    seeded: dict[str, CaseCategory] = {}
    for spec in DEFAULT_CATEGORIES:
        parent = seeded.get(spec.parent_code) if spec.parent_code else None
        seeded[spec.code] = CaseCategory.from_spec(spec, meta=meta(role="admin"), parent=parent)
    return seeded


def hazard() -> CaseCategory:
    return CaseCategory.define(
        code="hazard", label="隐患", mediation_eligible=False, meta=meta(role="admin")
    )


def test_seeding_the_default_categories() -> None:
    # given the default specs, when they are seeded in order
    cats = seed()
    # then the six top-level codes exist with their labels, ids derived from the codes
    top = {c.code: c.label for c in cats.values() if c.parent_code is None}
    assert top == {
        "hazard": "隐患", "dispute": "矛盾纠纷", "livelihood": "民生诉求",
        "sanitation": "环境卫生", "public_order": "治安", "errand": "代办",
    }  # fmt: skip
    assert cats["hazard"].id == CaseCategory.id_for_code(" hazard ")
    assert cats["neighbour_dispute"].parent_code == "dispute"
    assert cats["dispute"].mediation_eligible
    assert not cats["sanitation"].mediation_eligible
    assert all(c.active and c.version == 1 for c in cats.values())


def test_a_code_is_defined_once_even_after_retirement() -> None:
    recorder = POPOAggregateRecorder()
    first = hazard()
    first.retire("并入安全生产", meta=meta(role="admin"))
    recorder.insert_events(stored(first.collect_events()))
    again = hazard()
    assert again.id == first.id
    with pytest.raises(IntegrityError):
        recorder.insert_events(stored(again.collect_events()))


def stored(events: Sequence[CanMutateAggregate[UUID]]) -> list[StoredEvent]:
    return [
        StoredEvent(
            originator_id=e.originator_id,
            originator_version=e.originator_version,
            topic=type(e).__qualname__,
            state=b"",
        )
        for e in events
    ]


def test_relabel_bumps_the_revision_and_same_label_is_a_no_op() -> None:
    cat = hazard()
    cat.collect_events()
    cat.relabel(" 安全隐患 ", meta=meta(role="admin"))
    cat.relabel("安全隐患", meta=meta(role="admin"))
    assert cat.label == "安全隐患"
    assert cat.version == 2
    assert [type(e).__name__ for e in cat.collect_events()] == ["Relabelled"]


def test_a_retired_category_refuses_changes_and_children() -> None:
    # given a retired category
    cat = hazard()
    cat.retire("不再使用", meta=meta(role="admin"))
    assert not cat.active
    # then relabel, retire and new children are refused with its state
    for command in (
        lambda: cat.relabel("x", meta=meta()),
        lambda: cat.retire("again", meta=meta()),
        lambda: CaseCategory.define(
            code="fire_hazard", label="消防", mediation_eligible=False, meta=meta(), parent=cat
        ),
    ):
        with pytest.raises(InvalidTransition) as exc:
            command()
        assert exc.value.details["state"] == "retired"


@pytest.mark.parametrize("code", ["", "H", "Hazard", "1hazard", "hazard-x", "a" * 33])
def test_category_codes_are_snake_case(code: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        CaseCategory.define(code=code, label="x", mediation_eligible=False, meta=meta())
    assert exc.value.details["field"] == "code"


def test_category_tree_rules() -> None:
    cats = seed()
    # a child of a child is refused: two levels only
    with pytest.raises(InvalidValue):
        CaseCategory.define(
            code="wall_crack", label="墙体开裂", mediation_eligible=False, meta=meta(),
            parent=cats["fire_hazard"],
        )  # fmt: skip
    with pytest.raises(InvalidValue):
        CaseCategory.define(
            code="hazard", label="x", mediation_eligible=False, meta=meta(), parent=cats["hazard"]
        )
    with pytest.raises(InvalidValue):
        CaseCategory.define(code="hazard", label=" ", mediation_eligible=False, meta=meta())
    # a spec must be seeded with the parent it names
    spec = CategorySpec(code="fire_hazard", label="消防隐患", parent_code="hazard")
    with pytest.raises(InvalidValue):
        CaseCategory.from_spec(spec, meta=meta(), parent=None)
